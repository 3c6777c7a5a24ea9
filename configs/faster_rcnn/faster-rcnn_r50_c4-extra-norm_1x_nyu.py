# C4 Faster R-CNN (mmdet::faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py in
# pytorch style) whose res5 RoI head ends with an extra BN, as MoCo's
# detectron2 benchmark (Res5ROIHeadsExtraNorm). res5 is the pretrained
# stage 4, so it is verified and loaded from the same checkpoint:
#   --cfg-options model.backbone.init_cfg.checkpoint=CKPT \
#                 model.roi_head.shared_head.init_cfg.checkpoint=CKPT
_base_ = './faster-rcnn_r50_fpn_1x_nyu.py'
model = dict(
    backbone=dict(
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2, )),
    neck=None,
    rpn_head=dict(
        in_channels=1024,
        feat_channels=1024,
        anchor_generator=dict(scales=[2, 4, 8, 16, 32], strides=[16])),
    roi_head=dict(
        shared_head=dict(
            type='ResLayerWithExtraNorm',
            depth=50,
            stage=3,
            stride=2,
            norm_eval=True,
            extra_norm_cfg=dict(type='BN', requires_grad=True),
            init_cfg=dict(
                type='VerifiedPretrained', checkpoint=None,
                prefix='backbone.')),
        bbox_roi_extractor=dict(
            roi_layer=dict(output_size=14),
            out_channels=1024,
            featmap_strides=[16]),
        bbox_head=dict(
            _delete_=True,
            type='BBoxHead',
            with_avg_pool=True,
            roi_feat_size=7,
            in_channels=2048,
            num_classes=100,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(rpn_proposal=dict(nms_pre=12000, max_per_img=2000)),
    test_cfg=dict(rpn=dict(nms_pre=6000, max_per_img=1000)))
