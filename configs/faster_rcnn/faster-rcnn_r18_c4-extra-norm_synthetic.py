# Demo (R18, synthetic, SwAV backbone): C4 Faster R-CNN whose res5 RoI head
# ends with an extra BN (MoCo's Res5ROIHeadsExtraNorm), the R18 size of
# faster-rcnn_r50_c4-extra-norm_1x_nyu.py. res5 loads from the same
# checkpoint:
#   --cfg-options model.backbone.init_cfg.checkpoint=CKPT \
#                 model.roi_head.shared_head.init_cfg.checkpoint=CKPT
_base_ = [
    '../demo/faster-rcnn_r18_fpn_synthetic_swav.py',
    '../_base_/models/faster-rcnn_c4-extra-norm.py'
]
model = dict(
    neck=None,
    backbone=_base_.c4_backbone,
    rpn_head=dict(_base_.c4_rpn_head, in_channels=256, feat_channels=256),
    roi_head=dict(
        shared_head=dict(
            _base_.c4_shared_head,
            depth=18,
            norm_cfg=dict(type='BN', requires_grad=True),
            norm_eval=False),
        bbox_roi_extractor=dict(
            _base_.c4_bbox_roi_extractor, out_channels=256),
        bbox_head=dict(_base_.c4_bbox_head, in_channels=512, num_classes=5)))
