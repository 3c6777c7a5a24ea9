# Backbone SyncBN trained with cross-GPU batch statistics (multi-GPU only:
# tools/dist_train.sh CONFIG N). Loads a BN/SyncBN-pretrained backbone.
_base_ = './faster-rcnn_r50_fpn_1x_nyu.py'
model = dict(
    backbone=dict(
        norm_cfg=dict(type='SyncBN', requires_grad=True), norm_eval=False))
