# Demo (R18, synthetic, SwAV backbone): SyncBN (tools/dist_train.sh only).
_base_ = '../demo/faster-rcnn_r18_fpn_synthetic_swav.py'
model = dict(
    backbone=dict(
        norm_cfg=dict(type='SyncBN', requires_grad=True), norm_eval=False))
