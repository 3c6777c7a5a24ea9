# The KITTI recipe shrunk for the CPU (tests/tools/test_kitti_recipe.py):
# ResNet-18, images resized to fit 416 x 126 (a third of KITTI's size), 2
# images a batch, 1 epoch, no dataloader workers. Backbone init, frozen BN,
# optimizer, KittiMetric and hooks are the recipe's: give a converted
# ResNet-18 with model.backbone.init_cfg.checkpoint=PATH.
_base_ = './faster-rcnn_r50_fpn_20e_kitti.py'

model = dict(
    backbone=dict(depth=18), neck=dict(in_channels=[64, 128, 256, 512]))

image_size = (416, 126)
train_pipeline = [dict(t, scale=image_size) if t.type == 'Resize' else t
                  for t in _base_.train_pipeline]
test_pipeline = [dict(t, scale=image_size) if t.type == 'Resize' else t
                 for t in _base_.test_pipeline]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(_base_.param_scheduler[0], end=max_epochs, milestones=[1])
]
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=1))
