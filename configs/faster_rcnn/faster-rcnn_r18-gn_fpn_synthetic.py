# Demo (R18, synthetic): GroupNorm backbone (GN-pretrained checkpoint), the
# rest of the detector unchanged (the report's GN variant).
_base_ = '../demo/faster-rcnn_r18_fpn_synthetic_swav.py'
model = dict(
    backbone=dict(
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        norm_eval=False))
