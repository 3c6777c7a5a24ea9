# The synthetic shapes-and-textures detection set (default data of
# `make demo`), written by
#   python tools/dataset_converters/make_synthetic.py --out data/synthetic
# Images are 192 x 256 (h x w) unless generated with another --size; then
# change `image_size` too. COCO file names are 'train/000000.png', relative to
# data_prefix img='images/'. A data_root changed with --cfg-options must also
# be given to val_evaluator.ann_file (as with every mmdet dataset config).
dataset_type = 'CocoDataset'
data_root = 'data/synthetic/'
# Same order as custom_modules.data_io.synthetic.CLASSES (category ids 1..5).
metainfo = dict(
    classes=('spotted_disc', 'striped_square', 'checkered_triangle', 'ring',
             'cross'),
    palette=[(220, 20, 60), (0, 128, 255), (255, 160, 0), (0, 200, 80),
             (160, 32, 240)])
image_size = (256, 192)  # (w, h), as mmdet's Resize takes it
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/val.json',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/val.json',
    metric='bbox',
    classwise=True,
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator
