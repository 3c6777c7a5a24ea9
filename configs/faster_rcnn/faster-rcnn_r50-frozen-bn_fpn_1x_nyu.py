# Backbone BN fully frozen: affine (requires_grad=False) and running
# statistics (norm_eval=True, eval mode during training). The report's
# code's "FBN" (its default, and the root's); restated here so that the norm
# grid names each variant by a file.
_base_ = './faster-rcnn_r50_fpn_1x_nyu.py'
model = dict(
    backbone=dict(
        norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True))
