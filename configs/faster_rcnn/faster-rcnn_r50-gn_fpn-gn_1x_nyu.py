# GroupNorm everywhere (configs/_base_/models/faster-rcnn_gn-all.py): GN
# backbone (needs a GN-pretrained checkpoint), GN neck and a 4conv1fc GN box
# head.
_base_ = [
    './faster-rcnn_r50_fpn_1x_nyu.py', '../_base_/models/faster-rcnn_gn-all.py'
]
model = {{_base_.gn_all}}
