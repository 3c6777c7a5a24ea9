# The main recipe with a GroupNorm backbone (32 groups), for the detector
# variant with GN (configs/faster_rcnn/*-gn_*). The projection head keeps
# SyncBN: it is dropped after pretraining.
_base_ = './swav_resnet50_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-96_3000p.py'
model = dict(
    backbone=dict(norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)))
