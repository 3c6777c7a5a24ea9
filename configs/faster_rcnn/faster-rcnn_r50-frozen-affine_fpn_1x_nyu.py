# The report's "FBN": BN affine frozen (requires_grad=False) but running
# statistics still updated from batches (norm_eval=False).
_base_ = './faster-rcnn_r50_fpn_1x_nyu.py'
model = dict(
    backbone=dict(
        norm_cfg=dict(type='BN', requires_grad=False), norm_eval=False))
