# Parts of the C4 Faster R-CNN of MoCo's detectron2 benchmark
# (Res5ROIHeadsExtraNorm), as mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py
# builds it but in pytorch style: the backbone stops after stage 3 (stride
# 16), the RPN has one level, res5 is the RoI head (ResLayerWithExtraNorm,
# verified and loaded from the backbone checkpoint) and an average-pooled box
# head follows. A config that inherits an FPN detector and this file merges
# the parts into its model, adding the sizes of its ResNet and data set:
#   model = dict(
#       backbone=_base_.c4_backbone, neck=None,
#       rpn_head=dict(_base_.c4_rpn_head, in_channels=1024, ...),
#       roi_head=dict(shared_head=dict(_base_.c4_shared_head, depth=50), ...))
c4_backbone = dict(
    num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2, ))
c4_rpn_head = dict(
    anchor_generator=dict(scales=[2, 4, 8, 16, 32], strides=[16]))
c4_shared_head = dict(
    type='ResLayerWithExtraNorm',
    stage=3,
    stride=2,
    extra_norm_cfg=dict(type='BN', requires_grad=True),
    init_cfg=dict(
        type='VerifiedPretrained', checkpoint=None, prefix='backbone.'))
c4_bbox_roi_extractor = dict(
    roi_layer=dict(output_size=14), featmap_strides=[16])
c4_bbox_head = dict(
    _delete_=True,
    type='BBoxHead',
    with_avg_pool=True,
    roi_feat_size=7,
    bbox_coder=dict(
        type='DeltaXYWHBBoxCoder',
        target_means=[0., 0., 0., 0.],
        target_stds=[0.1, 0.1, 0.2, 0.2]),
    reg_class_agnostic=False,
    loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    loss_bbox=dict(type='L1Loss', loss_weight=1.0))
