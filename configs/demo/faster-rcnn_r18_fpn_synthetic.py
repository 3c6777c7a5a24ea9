# Faster R-CNN R18-FPN on the embedded synthetic set, on the CPU.
# The demo's detector (configs/_base_/models/faster-rcnn_r18_fpn_cpu.py):
# trained from random initialisation here; the `_swav` variant starts from a
# SwAV backbone with the same budget. mmdet's 1x schedule with a validation
# every 4 epochs and a shorter warm-up.
_base_ = [
    '../_base_/models/faster-rcnn_r18_fpn_cpu.py',
    '../_base_/datasets/synthetic_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['custom_modules'], allow_failed_imports=False)

model = dict(roi_head=dict(bbox_head=dict(num_classes=5)))

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=0.01, end=100),
    _base_.param_scheduler[1]
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        interval=4, max_keep_ckpts=2, save_best='coco/bbox_mAP_50',
        rule='greater'))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0, deterministic=False)
auto_scale_lr = dict(enable=False, base_batch_size=4)
