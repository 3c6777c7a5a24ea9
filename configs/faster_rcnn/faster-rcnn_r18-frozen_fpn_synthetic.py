# Demo (R18, synthetic, SwAV backbone): frozen backbone (all stages, BN
# frozen); neck and heads train.
_base_ = '../demo/faster-rcnn_r18_fpn_synthetic_swav.py'
model = dict(
    backbone=dict(
        frozen_stages=4, norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True))
