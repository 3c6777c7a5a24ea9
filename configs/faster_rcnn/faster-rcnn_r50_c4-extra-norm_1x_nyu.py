# C4 Faster R-CNN (mmdet::faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py in
# pytorch style) whose res5 RoI head ends with an extra BN, as MoCo's
# detectron2 benchmark (Res5ROIHeadsExtraNorm; the parts are in
# configs/_base_/models/faster-rcnn_c4-extra-norm.py). res5 is the pretrained
# stage 4, so it is verified and loaded from the same checkpoint:
#   --cfg-options model.backbone.init_cfg.checkpoint=CKPT \
#                 model.roi_head.shared_head.init_cfg.checkpoint=CKPT
# res5's BN is fully frozen like the backbone's (the root's norm); the extra
# norm trains with batch statistics.
_base_ = [
    './faster-rcnn_r50_fpn_1x_nyu.py',
    '../_base_/models/faster-rcnn_c4-extra-norm.py'
]
model = dict(
    backbone=_base_.c4_backbone,
    neck=None,
    rpn_head=dict(_base_.c4_rpn_head, in_channels=1024, feat_channels=1024),
    roi_head=dict(
        shared_head=dict(
            _base_.c4_shared_head,
            depth=50,
            norm_cfg=dict(type='BN', requires_grad=False),
            norm_eval=True),
        bbox_roi_extractor=dict(
            _base_.c4_bbox_roi_extractor, out_channels=1024),
        bbox_head=dict(_base_.c4_bbox_head, in_channels=2048,
                       num_classes=100)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=12000, max_per_img=2000)),
    test_cfg=dict(rpn=dict(nms_pre=6000, max_per_img=1000)))
