# The report's GN variant: a GroupNorm backbone (32 groups, trained; it needs
# a GN-pretrained checkpoint, e.g. configs/swav/swav_resnet50-gn_4xb64-mcrop-
# 2-6-coslr-200e_unlabeled-224-96_3000p.py) with the rest of the detector
# unchanged (FPN without norm, Shared2FC box head). GN in neck and box head
# as well: faster-rcnn_r50_fpn_gn-all_1x_nyu.py.
_base_ = './faster-rcnn_r50_fpn_1x_nyu.py'
model = dict(
    backbone=dict(
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        norm_eval=False))
