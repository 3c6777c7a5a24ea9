# mmdet's Faster R-CNN R-50-FPN shrunk for 2 CPU cores (about 3x cheaper per
# step than the mmdet defaults; measured): the demo's detector and its stock
# benchmark baseline. ResNet-18 with trainable BN, nothing frozen and no
# pretrained weights; a 128-channel FPN/RPN, a 512-d shared FC box head, 64
# sampled RoIs per image (mmdet: 512), fixed RoIAlign sampling and fewer
# proposals. The synthetic images hold 1-5 objects each, so nothing is
# starved.
_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'

model = dict(
    backbone=dict(
        depth=18,
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=128),
    # Anchors of 16-256 px (scale 4 on strides 4-64; mmdet: 32-512 px for
    # COCO at 1333 x 800): the synthetic objects are 12-163 px, and an
    # object under ~18 px had no anchor reaching the RPN's 0.3 IoU.
    rpn_head=dict(
        in_channels=128,
        feat_channels=128,
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(sampling_ratio=2), out_channels=128),
        bbox_head=dict(in_channels=128, fc_out_channels=512)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=500),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))
