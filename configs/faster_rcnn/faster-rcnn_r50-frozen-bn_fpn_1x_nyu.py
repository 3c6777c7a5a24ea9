# Backbone BN fully frozen: affine (requires_grad=False) and running
# statistics (norm_eval=True, eval mode during training).
_base_ = './faster-rcnn_r50_fpn_1x_nyu.py'
model = dict(
    backbone=dict(
        norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True))
