# Backbone BN trained with batch statistics (affine trainable, norm_eval off).
_base_ = './faster-rcnn_r50_fpn_1x_nyu.py'
model = dict(
    backbone=dict(
        norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False))
