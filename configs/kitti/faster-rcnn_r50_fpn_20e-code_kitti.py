# The KITTI schedule the report's code ran, which differs from the one the
# report states (faster-rcnn_r50_fpn_20e_kitti.py): a linear warmup over the
# first 1000 iterations, a second lr step (x0.1 after epochs 12 and 16) and
# weight decay 1e-4 instead of 5e-4. Everything else is the same.
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
