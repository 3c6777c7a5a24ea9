# What the report's code (detectron2) ran on KITTI, where it differs from
# what the report states (faster-rcnn_r50_fpn_20e_kitti.py):
#   - schedule: a linear warmup over the first 1000 iterations, a second lr
#     step (x0.1 after epochs 12 and 16), weight decay 1e-4 instead of 5e-4;
#   - image size: detectron2's ResizeShortestEdge with its defaults (shorter
#     side 800, or one of 640-800 in training with Base-RCNN-FPN.yaml;
#     longer side at most 1333; test alike) scales a 1242 x 375 KITTI image
#     to 1333 x 402 whichever shorter side is drawn, since the longer-side
#     cap decides: mmdet's Resize to fit (1333, 800) keeping the ratio. The
#     report states images kept at 1242 x 375;
#   - nothing frozen (FREEZE_AT: 0) and frozen BN: as the report's config.
# The code also fed BGR images with RGB statistics to the RGB-pretrained
# backbone, a bug kept apart: faster-rcnn_r50_fpn_20e-code-bgr-bug_kitti.py.
_base_ = './faster-rcnn_r50_fpn_20e_kitti.py'

optim_wrapper = dict(optimizer=dict(weight_decay=1e-4))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=_base_.max_epochs,
        by_epoch=True,
        milestones=[12, 16],
        gamma=0.1)
]

detectron2_scale = (1333, 800)  # (MAX_SIZE_*, MIN_SIZE_*): (w, h) to fit
train_pipeline = [
    dict(t, scale=detectron2_scale) if t.type == 'Resize' else t
    for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, scale=detectron2_scale) if t.type == 'Resize' else t
    for t in _base_.test_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
