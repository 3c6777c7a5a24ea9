# The KITTI recipe shrunk for the CPU (tests/tools/test_kitti_recipe.py):
# ResNet-18, images resized to fit 416 x 126 (a third of KITTI's size), 2
# images a batch, 1 epoch, no dataloader workers. Backbone init, frozen BN,
# optimizer, KittiMetric and hooks are the recipe's: give a converted
# ResNet-18 with model.backbone.init_cfg.checkpoint=PATH.
_base_ = './faster-rcnn_r50_fpn_20e_kitti.py'

model = dict(
    backbone=dict(depth=18), neck=dict(in_channels=[64, 128, 256, 512]))

image_scale = (416, 126)
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[1],
        gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=1))
