# Benchmark baseline: the stock mmdet Faster R-CNN config
# (mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py, its four bases) with
# the model of configs/demo/faster-rcnn_r18_fpn_synthetic.py
# (configs/_base_/models/faster-rcnn_r18_fpn_cpu.py, 5 classes), 256 x 192
# images, batch 4. Everything else is upstream's: Shared2FCBBoxHead, SGD with
# its lr, the runtime hooks. Only for
#   python tools/analysis/benchmark.py faster-rcnn --baseline THIS_FILE
_base_ = [
    '../_base_/models/faster-rcnn_r18_fpn_cpu.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py'
]

model = dict(roi_head=dict(bbox_head=dict(num_classes=5)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(256, 192), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
