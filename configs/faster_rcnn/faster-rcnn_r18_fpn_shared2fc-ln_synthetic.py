# Demo (R18, synthetic, SwAV backbone): LayerNorm Shared2FC box head
# (ln_position='between' for one LayerNorm between the FCs).
_base_ = '../demo/faster-rcnn_r18_fpn_synthetic_swav.py'
model = dict(
    roi_head=dict(
        bbox_head=dict(type='Shared2FCBBoxHeadLN', ln_position='each')))
