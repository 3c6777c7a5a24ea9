# Demo (R18, synthetic): GroupNorm backbone (GN-pretrained checkpoint), neck
# and 4conv1fc box head, as mmdet's gn-all configs.
_base_ = [
    '../demo/faster-rcnn_r18_fpn_synthetic_swav.py',
    '../_base_/models/faster-rcnn_gn-all.py'
]
model = {{_base_.gn_all}}
