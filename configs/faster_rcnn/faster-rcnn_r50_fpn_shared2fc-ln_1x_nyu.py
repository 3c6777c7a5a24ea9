# Box head: Shared2FC with LayerNorm after each FC, before its ReLU (the
# report's head). ln_position='between' keeps one LayerNorm between the FCs:
#   --cfg-options model.roi_head.bbox_head.ln_position=between
_base_ = './faster-rcnn_r50_fpn_1x_nyu.py'
model = dict(
    roi_head=dict(
        bbox_head=dict(type='Shared2FCBBoxHeadLN', ln_position='each')))
