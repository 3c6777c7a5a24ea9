# The report's labeled set (NYU deep-learning course data: 30k train, 20k
# val images, 100 classes), converted to COCO JSON by
#   python tools/dataset_converters/nyu2coco.py data/nyu \
#       --out data/nyu/annotations
# COCO file names are relative to the NYU root ('training/images/1.JPEG'), so
# data_prefix is empty. Classes in the course's fixed order (category_id =
# index + 1), the same list as nyu_classes.txt beside this file.
dataset_type = 'CocoDataset'
data_root = 'data/nyu/'
metainfo = dict(
    classes=(
        'cup or mug', 'bird', 'hat with a wide brim', 'person', 'dog',
        'lizard', 'sheep', 'wine bottle', 'bowl', 'airplane', 'domestic cat',
        'car', 'porcupine', 'bear', 'tape player', 'ray', 'laptop', 'zebra',
        'computer keyboard', 'pitcher', 'artichoke', 'tv or monitor', 'table',
        'chair', 'helmet', 'traffic light', 'red panda', 'sunglasses', 'lamp',
        'bicycle', 'backpack', 'mushroom', 'fox', 'otter', 'guitar',
        'microphone', 'strawberry', 'stove', 'violin', 'bookshelf', 'sofa',
        'bell pepper', 'bagel', 'lemon', 'orange', 'bench', 'piano',
        'flower pot', 'butterfly', 'purse', 'pomegranate', 'train', 'drum',
        'hippopotamus', 'ski', 'ladybug', 'banana', 'monkey', 'bus',
        'miniskirt', 'camel', 'cream', 'lobster', 'seal', 'horse', 'cart',
        'elephant', 'snake', 'fig', 'watercraft', 'apple', 'antelope',
        'cattle', 'whale', 'coffee maker', 'baby bed', 'frog', 'bathing cap',
        'crutch', 'koala bear', 'tie', 'dumbbell', 'tiger', 'dragonfly',
        'goldfish', 'cucumber', 'turtle', 'harp', 'jellyfish', 'swine',
        'pretzel', 'motorcycle', 'beaker', 'rabbit', 'nail', 'axe',
        'salt or pepper shaker', 'croquet ball', 'skunk', 'starfish'))
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/train.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/val.json',
        data_prefix=dict(img=''),
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
