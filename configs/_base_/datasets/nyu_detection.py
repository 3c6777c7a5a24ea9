# The report's labeled set (NYU deep-learning course data: 30k train, 20k
# val images, 100 classes), converted to COCO JSON by
#   python tools/dataset_converters/nyu2coco.py data/nyu \
#       --out data/nyu/annotations
# mmdet's COCO loaders, pipelines (1333 x 800) and COCO AP, with per-class
# AP. COCO file names are relative to the NYU root
# ('training/images/1.JPEG'), so data_prefix is empty. Classes in the
# course's fixed order (category_id = index + 1), the same list as
# nyu_classes.txt beside this file.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

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

train_dataloader = dict(
    dataset=dict(
        data_root=data_root, metainfo=metainfo,
        ann_file='annotations/train.json', data_prefix=dict(img='')))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root, metainfo=metainfo,
        ann_file='annotations/val.json', data_prefix=dict(img='')))
test_dataloader = val_dataloader

val_evaluator = dict(
    ann_file=data_root + 'annotations/val.json', classwise=True)
test_evaluator = val_evaluator
