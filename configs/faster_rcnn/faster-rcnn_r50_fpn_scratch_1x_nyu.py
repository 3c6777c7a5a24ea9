# From scratch (no pretrained backbone): the reference the transferred
# backbones are compared with. Trainable BN with batch statistics.
_base_ = './faster-rcnn_r50_fpn_1x_nyu.py'
model = dict(
    backbone=dict(
        init_cfg=None, frozen_stages=-1, norm_eval=False,
        norm_cfg=dict(type='BN', requires_grad=True)))
