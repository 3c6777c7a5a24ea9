# Demo (R18, synthetic, SwAV backbone): BN affine and statistics frozen.
_base_ = '../demo/faster-rcnn_r18_fpn_synthetic_swav.py'
model = dict(
    backbone=dict(
        norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True))
