# Box head of GroupNorm bottlenecks on FPN features: the head the report's
# code calls "res head", beside its text's LayerNorm Shared2FC head
# (faster-rcnn_r50_fpn_shared2fc-ln_1x_nyu.py). The 7x7 RoI features of the
# FPN (256 channels) go through ResNet bottleneck blocks with GN (mmdet's
# ResLayer shared head at stage 1: 4 blocks, width 128, 512 channels out,
# stride 1; randomly initialised), then average pooling and the two linear
# predictors, as the res5 head of the C4 detector
# (configs/_base_/models/faster-rcnn_c4-extra-norm.py) ends. Block count and
# width are our reading (README.md): the report names the head, not its size.
_base_ = [
    './faster-rcnn_r50_fpn_1x_nyu.py',
    '../_base_/models/faster-rcnn_c4-extra-norm.py'
]
model = dict(
    roi_head=dict(
        shared_head=dict(
            type='ResLayer',
            depth=50,
            stage=1,
            stride=1,
            norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
            norm_eval=False),
        bbox_head=dict(_base_.c4_bbox_head, in_channels=512,
                       num_classes=100)))
