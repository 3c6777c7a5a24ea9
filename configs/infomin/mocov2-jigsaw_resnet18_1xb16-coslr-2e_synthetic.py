# The tiny CPU MoCo (mocov2_resnet18_1xb16-coslr-2e_synthetic.py) with the
# jigsaw branch of mocov2-jigsaw_resnet50_infomin-init_1xb32-coslr-100e_
# nuimages.py, at its scale: a 48-px jigsaw crop cut into 3x3 patches of
# 12 px (cells of 16 px, PyContrast's 64/85 ratio), a 512-512-128 patch MLP
# and loss = 0.5 * instance + 0.5 * jigsaw. The tests' jigsaw retraining.
#   python tools/model_converters/convert.py --src-format torchvision \
#       --target mmselfsup-jigsaw-moco r18_torchvision.pth \
#       work_dirs/weights/r18_jigsaw.pth
#   python tools/train.py \
#       configs/infomin/mocov2-jigsaw_resnet18_1xb16-coslr-2e_synthetic.py \
#       --cfg-options load_from=work_dirs/weights/r18_jigsaw.pth
_base_ = './mocov2_resnet18_1xb16-coslr-2e_synthetic.py'

model = dict(
    type='InfoMinJigsawMoCo',
    jigsaw_neck=dict(
        type='JigsawNeck',
        in_channels=512,
        hid_channels=512,
        out_channels=128,
        num_patches=9),
    jigsaw_weight=0.5)

jigsaw_pipeline = [
    dict(type='RandomResizedCrop', size=48, scale=(0.6, 1.), backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='JigsawPatches', num_grid=3, patch_size=12),
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
