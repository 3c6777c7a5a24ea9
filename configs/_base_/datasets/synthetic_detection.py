# The synthetic shapes-and-textures detection set (default data of
# `make demo`), written by
#   python tools/dataset_converters/make_synthetic.py --out data/synthetic
# mmdet's COCO loaders, pipelines and COCO AP (with per-class AP) at this
# set's size, 4 images a batch. Images are 192 x 256 (h x w) unless
# generated with another --size; then change `image_size` too. COCO file
# names are 'train/000000.png', relative to data_prefix img='images/'. A
# data_root changed with --cfg-options must also be given to
# val_evaluator.ann_file (as with every mmdet dataset config).
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

data_root = 'data/synthetic/'
# Same order as ssdet.data.synthetic.CLASSES (category ids 1..5).
metainfo = dict(
    classes=('spotted_disc', 'striped_square', 'checkered_triangle', 'ring',
             'cross'),
    palette=[(220, 20, 60), (0, 128, 255), (255, 160, 0), (0, 200, 80),
             (160, 32, 240)])
image_size = (256, 192)  # (w, h), as mmdet's Resize takes it

train_pipeline = [dict(t, scale=image_size) if t.type == 'Resize' else t
                  for t in _base_.train_pipeline]
test_pipeline = [dict(t, scale=image_size) if t.type == 'Resize' else t
                 for t in _base_.test_pipeline]
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=train_pipeline,
        ann_file='annotations/train.json', data_prefix=dict(img='images/')))
val_dataloader = dict(
    batch_size=4,
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=test_pipeline,
        ann_file='annotations/val.json', data_prefix=dict(img='images/')))
test_dataloader = val_dataloader

val_evaluator = dict(
    ann_file=data_root + 'annotations/val.json', classwise=True)
test_evaluator = val_evaluator
