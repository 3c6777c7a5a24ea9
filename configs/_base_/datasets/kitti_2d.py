# KITTI 2D object detection as COCO JSON (tools/dataset_converters/
# kitti2coco.py --out data/kitti/annotations): mmdet's COCO loaders and
# pipelines at KITTI's image size. Two metrics on the same detections: COCO
# AP (CocoMetric: AP, AP50, APs/APm/APl) and KittiMetric (per-class AP50 and
# mAP of the paper table, the official devkit Easy/Moderate/Hard R40/R11).
# DontCare regions are iscrowd=1 ignore regions.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'
custom_imports = dict(imports=['custom_modules'], allow_failed_imports=False)

data_root = 'data/kitti/'
image_size = (1242, 375)  # (w, h), as mmdet's Resize takes it
# fixed order: the converter writes categories in this order
classes = ('Car', 'Van', 'Truck', 'Pedestrian', 'Person_sitting', 'Cyclist',
           'Tram')
metainfo = dict(classes=classes)

train_pipeline = [dict(t, scale=image_size) if t.type == 'Resize' else t
                  for t in _base_.train_pipeline]
test_pipeline = [dict(t, scale=image_size) if t.type == 'Resize' else t
                 for t in _base_.test_pipeline]
train_dataloader = dict(
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=train_pipeline,
        ann_file='annotations/train.json',
        data_prefix=dict(img='training/image_2/')))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=test_pipeline,
        ann_file='annotations/val.json',
        data_prefix=dict(img='training/image_2/')))
test_dataloader = val_dataloader

val_evaluator = [
    dict(_base_.val_evaluator, ann_file=data_root + 'annotations/val.json'),
    dict(
        type='KittiMetric',
        ann_file=data_root + 'annotations/val.json',
        backend_args=_base_.backend_args)
]
test_evaluator = val_evaluator
