# Faster R-CNN R50-FPN fine-tuned on the NYU detection set (data/nyu/) from a
# self-supervised backbone: the root of the R50 real-data family.
# This is mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py with the NYU data
# set, plus:
#   - the backbone comes from a checkpoint verified key by key
#     (VerifiedPretrained) and checked against its pretraining settings
#     (TransferCheckHook);
#   - one learning rate, frozen parameters left out of the optimizer;
#   - COCO AP/AP50/AP75/APs/APm/APl and per-class AP, best checkpoint by AP50;
#   - the report's fine-tuning: 2 images a batch on 1 GPU at lr 5e-3, the lr
#     scaled linearly with the batch on more GPUs (auto_scale_lr, base batch
#     2; the effective batch and lr are logged at the start), and the
#     backbone BN fully frozen (affine and running statistics), the default
#     of the report's code, not mmdet's (trained affine, frozen statistics).
#
# The checkpoint is given on the command line (never a path in a config):
#   python tools/train.py configs/faster_rcnn/faster-rcnn_r50_fpn_1x_nyu.py \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/swav/r50.pth
# An mmselfsup checkpoint has backbone.*/neck.*/head.* keys and a converted
# one backbone.* only: both load with prefix='backbone.'.
#
# Frozen stages (mmdet semantics): --cfg-options model.backbone.frozen_stages=N
#   -1 nothing frozen, 0 the stem, 1 stem + stage 1 (the default here),
#   2, 3, and 4 = every stage (a frozen backbone; see the *-frozen variant).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/nyu_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py', '../_base_/schedules/lr-uniform.py'
]
custom_imports = dict(imports=['custom_modules'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        init_cfg=dict(
            type='VerifiedPretrained', checkpoint=None, prefix='backbone.')),
    roi_head=dict(bbox_head=dict(num_classes=100)))  # nyu_classes.txt

optim_wrapper = {{_base_.lr_uniform}}
default_hooks = dict(
    checkpoint=dict(save_best='coco/bbox_mAP_50', rule='greater'))
custom_hooks = [
    dict(type='TransferCheckHook', on_mismatch='error'),
    dict(type='EffectiveBatchLrHook')
]
# The report's lr (5e-3) belongs to 2 images a batch: N GPUs x 2 images
# train at lr 5e-3 x N.
auto_scale_lr = dict(enable=True, base_batch_size=2)
