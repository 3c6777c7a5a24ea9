# GroupNorm everywhere (configs/_base_/models/faster-rcnn_gn-all.py, as
# mmdet's gn-all configs): GN backbone (needs a GN-pretrained checkpoint),
# GN neck and a 4conv1fc GN box head. Not the report's GN variant, which
# changes the backbone only (faster-rcnn_r50-gn_fpn_1x_nyu.py): here neck and
# box head change too, so the comparison is not one of norms alone.
_base_ = [
    './faster-rcnn_r50_fpn_1x_nyu.py', '../_base_/models/faster-rcnn_gn-all.py'
]
model = {{_base_.gn_all}}
