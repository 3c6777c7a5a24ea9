# The InfoMin retraining recipe with InfoMin's jigsaw (PIRL) branch, as
# PyContrast `--method InfoMin` trains it (`jigsaw=True`, `--beta 0.5`):
#   - InfoMinJigsawMoCo: the recipe's MoCo plus a jigsaw embedding
#     (JigsawNeck, PyContrast's `head_jig`: per-patch 2048-2048-128 MLP,
#     the 9 patches in a random order, concatenated, 1152 -> 128) that is
#     contrasted against the instance key and the same queue;
#     loss = 0.5 * instance + 0.5 * jigsaw.
#   - a third view (PyContrast's `jigsaw_transform`): random resized crop
#     255 px, scale 0.6-1, flip, then 3x3 patches of 64 px, each jittered
#     by 0-21 px inside its 85-px cell; no colour augmentation.
# Everything else is the recipe's (README.md, "The jigsaw branch").
# Convert with the jigsaw head:
#   python tools/model_converters/convert.py --src-format pycontrast \
#       --target mmselfsup-jigsaw-moco InfoMin_800.pth \
#       work_dirs/weights/infomin800_jigsaw.pth
#   python tools/train.py THIS_CONFIG \
#       --cfg-options load_from=work_dirs/weights/infomin800_jigsaw.pth
_base_ = './mocov2_resnet50_infomin-init_1xb32-coslr-100e_nuimages.py'

model = dict(
    type='InfoMinJigsawMoCo',
    jigsaw_neck=dict(
        type='JigsawNeck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=128,
        num_patches=9),
    jigsaw_weight=0.5)

jigsaw_pipeline = [
    dict(
        type='RandomResizedCrop', size=255, scale=(0.6, 1.), backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='JigsawPatches', num_grid=3, patch_size=64),
]
train_dataloader = dict(
    dataset=dict(pipeline=[
        _base_.train_pipeline[0],
        dict(
            _base_.train_pipeline[1],
            num_views=[2, 1],
            transforms=[_base_.view_pipeline, jigsaw_pipeline]),
        _base_.train_pipeline[-1],
    ]))

custom_hooks = [
    dict(
        _base_.custom_hooks[0],
        hint='convert the InfoMin weights with tools/model_converters/'
        'convert.py --src-format pycontrast --target mmselfsup-jigsaw-moco '
        'SRC DST and pass --cfg-options load_from=DST'),
    *_base_.custom_hooks[1:],
]
