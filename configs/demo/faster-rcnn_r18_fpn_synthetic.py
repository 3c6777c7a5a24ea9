# Faster R-CNN R18-FPN on the embedded synthetic set, on the CPU.
# The demo's detector: trained from random initialisation here; the
# `_swav` variant starts from a SwAV backbone with the same budget.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/synthetic_detection.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['custom_modules'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        depth=18,
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    # A tiny detector for 2 CPU cores (about 3x cheaper per step than the
    # mmdet defaults; measured): 128-channel FPN/RPN, a 512-d shared FC box
    # head, 64 sampled RoIs per image (mmdet: 512) and fixed RoIAlign
    # sampling. The images hold 1-5 objects each, so nothing is starved.
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=128),
    # Anchors of 16-256 px (scale 4 on strides 4-64; mmdet: 32-512 px for
    # COCO at 1333 x 800): the objects here are 12-163 px, and an object
    # under ~18 px had no anchor reaching the RPN's 0.3 IoU.
    rpn_head=dict(
        in_channels=128,
        feat_channels=128,
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(sampling_ratio=2), out_channels=128),
        bbox_head=dict(in_channels=128, fc_out_channels=512, num_classes=5)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=500),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))

max_epochs = 12
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]

default_hooks = dict(
    # Stop at the first NaN/inf loss, keeping the last good checkpoint;
    # reseed every epoch so that --resume continues exactly.
    nan_guard=dict(type='NonFiniteLossHook'),
    epoch_seed=dict(type='EpochSeedHook'),
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='CheckpointHook',
        interval=4,
        max_keep_ckpts=2,
        save_best='coco/bbox_mAP_50',
        rule='greater'))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0, deterministic=False)
auto_scale_lr = dict(enable=False, base_batch_size=4)
