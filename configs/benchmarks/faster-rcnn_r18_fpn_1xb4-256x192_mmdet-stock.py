# Benchmark baseline: the stock mmdet Faster R-CNN config at the size of
# configs/demo/faster-rcnn_r18_fpn_synthetic.py (ResNet-18 with trainable BN
# and no frozen stage, the demo's small heads, 5 classes, 256 x 192 images,
# batch 4). Everything else is upstream's: Shared2FCBBoxHead, SGD with its
# lr, the runtime hooks. Only
# for
#   python tools/analysis/benchmark.py faster-rcnn --baseline THIS_FILE
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

# The model of the demo config, dimension for dimension (keep in sync): a
# 128-channel FPN/RPN with 16-256 px anchors, a 512-d shared FC head, 64 RoIs
# per image, RoIAlign sampling_ratio 2, fewer proposals.
model = dict(
    backbone=dict(
        depth=18,
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=128),
    rpn_head=dict(
        in_channels=128,
        feat_channels=128,
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(sampling_ratio=2), out_channels=128),
        bbox_head=dict(in_channels=128, fc_out_channels=512, num_classes=5)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=500),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(256, 192), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
