# Frozen backbone: every stage frozen (frozen_stages=4) and BN frozen; only
# the neck, RPN and RoI head train (and only they are in the optimizer).
_base_ = './faster-rcnn_r50_fpn_1x_nyu.py'
model = dict(
    backbone=dict(
        frozen_stages=4, norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True))
