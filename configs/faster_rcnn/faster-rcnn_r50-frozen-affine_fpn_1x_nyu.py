# The report's text's "FBN": BN affine frozen (requires_grad=False) but
# running statistics still updated from batches (norm_eval=False). Its code
# froze both (faster-rcnn_r50-frozen-bn_fpn_1x_nyu.py).
_base_ = './faster-rcnn_r50_fpn_1x_nyu.py'
model = dict(
    backbone=dict(
        norm_cfg=dict(type='BN', requires_grad=False), norm_eval=False))
