# Demo (R18, synthetic, SwAV backbone): BN with batch statistics.
_base_ = '../demo/faster-rcnn_r18_fpn_synthetic_swav.py'
model = dict(
    backbone=dict(
        norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False))
