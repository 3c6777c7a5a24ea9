# Further contrastive training of an InfoMin ResNet-50 on nuImages: MoCo v2
# in mmselfsup with the recipe of the report's code (PyContrast InfoMin,
# `--method InfoMin`), on 1 GPU x 32 images.
#   - MoCo: momentum encoder 0.999 (mmselfsup's MoCo takes the momentum as
#     written here and gives its ExponentialMovingAverage 1 - 0.999 = 0.001),
#     queue of 65,536 keys, 128-d output, 2048-2048-128 projection head,
#     temperature 0.15.
#   - InfoMin augmentation (PyContrast `build_transforms(aug='D')`): random
#     resized crop 0.2-1, flip, colour jitter 0.8/0.8/0.8/0.2 with p 0.8,
#     Gaussian blur p 0.5, RandAugment n=2 m=10 (std 0.5), grayscale p 0.2.
#   - SGD lr 0.003, momentum 0.9, weight decay 1e-4, cosine over 100 epochs
#     down to lr x 0.1^3 (PyContrast's eta_min with --cosine);
#     a checkpoint every 20 epochs, all five kept (each one is evaluated).
#
# The weights to continue from are given on the command line; both encoders
# and the projection head come from the file, the queue starts fresh (see
# README.md) and training starts at epoch 0 (load_from restores the model
# only; --resume would also restore the epoch, optimizer and queue):
#   python tools/model_converters/convert.py --src-format pycontrast \
#       --target mmselfsup-moco InfoMin_800.pth \
#       work_dirs/weights/infomin800_moco.pth
#   python tools/train.py THIS_CONFIG \
#       --cfg-options load_from=work_dirs/weights/infomin800_moco.pth
# Data: data/nuimages/train.txt written by
# tools/dataset_converters/nuimages2list.py (docs/nuimages.md).
_base_ = 'mmselfsup::selfsup/mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py'
custom_imports = dict(imports=['custom_modules'], allow_failed_imports=False)

model = dict(
    queue_len=65536,
    feat_dim=128,
    momentum=0.999,
    neck=dict(in_channels=2048, hid_channels=2048, out_channels=128),
    head=dict(temperature=0.15))

# This recipe trains the MoCo term alone; with InfoMin's jigsaw (PIRL) term
# as well: mocov2-jigsaw_resnet50_infomin-init_1xb32-coslr-100e_nuimages.py
# (README.md, "The jigsaw branch").
#
# PyContrast's RandAugment (`rand-n2-m10-mstd0.5`, its `_RAND_TRANSFORMS`,
# the original timm list, not timm's later "increasing" one) in mmcls terms:
# each op fires with p 0.5, magnitude ~ N(10, 0.5) clipped to [0, 10] and
# mapped linearly onto magnitude_range; rotate/shear/translate get a random
# sign. The enhance ops (PIL factor 0.1 + 1.8 * m / 10) are mmcls magnitudes
# -0.9 ... 0.9 without sign flip (mmcls factor = 1 + magnitude). Posterize
# rounds its bit count up in mmcls and down in PyContrast (4 vs 3 bits when
# the noisy magnitude falls below 10).
infomin_randaug_policies = [
    dict(type='mmcls.AutoContrast'),
    dict(type='mmcls.Equalize'),
    dict(type='mmcls.Invert'),
    dict(type='mmcls.Rotate', magnitude_range=(0, 30)),
    dict(type='mmcls.Posterize', magnitude_range=(0, 4)),
    dict(type='mmcls.Solarize', magnitude_range=(0, 256)),
    dict(type='mmcls.SolarizeAdd', magnitude_range=(0, 110)),
    *[
        dict(
            type=f'mmcls.{op}',
            magnitude_range=(-0.9, 0.9),
            random_negative_prob=0.)
        for op in ('ColorTransform', 'Contrast', 'Brightness', 'Sharpness')
    ],
    *[
        dict(type=f'mmcls.{op}', magnitude_range=(0, m), direction=d)
        for op, m in (('Shear', 0.3), ('Translate', 0.45))
        for d in ('horizontal', 'vertical')
    ],
]
# Images are BGR here: the fill is the ImageNet mean (PyContrast's img_mean
# (124, 116, 104) in RGB) in BGR order.
randaug = dict(
    type='mmcls.RandAugment',
    policies=infomin_randaug_policies,
    num_policies=2,
    magnitude_level=10,
    magnitude_std=0.5,
    total_level=10,
    hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic'))
crop_size = 224
# Flip, colour jitter, blur and grayscale in uint8 (*U8: upstream's
# arguments and random draws, lookup tables and single OpenCV calls; jitter
# and grey within +-1 of mmcv's cv2 backend, 3 after a hue shift, the blur
# a true Gaussian; custom_modules/datasets/photometric.py,
# docs/benchmarks.md).
view_pipeline = [
    dict(
        type='RandomResizedCrop',
        size=crop_size,
        scale=(0.2, 1.),
        backend='pillow'),
    dict(type='RandomFlipU8', prob=0.5),
    dict(
        type='RandomApply',
        prob=0.8,
        transforms=[
            dict(type='ColorJitterU8', brightness=0.8, contrast=0.8,
                 saturation=0.8, hue=0.2)
        ]),
    dict(type='RandomGaussianBlurU8', sigma_min=0.1, sigma_max=2.0, prob=0.5),
    randaug,
    dict(
        type='RandomGrayscaleU8',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
]
# JPEGs (nuImages) are decoded once, at the largest libjpeg reduction that
# keeps both crop boxes at or above 224 px (custom_modules/datasets/
# multiview.py, docs/benchmarks.md); other files in full.
train_pipeline = [
    dict(type='LoadImageFromFileOrSkip', defer_jpeg=True),
    dict(type='DecodeOnceMultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path'])
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    drop_last=True,
    # Restated without the `_scope_` key that the `mmselfsup::` base adds:
    # mmengine passes a collate_fn's keys to the function as arguments.
    collate_fn=dict(_delete_=True, type='default_collate'),
    dataset=dict(
        _delete_=True,
        type='UnlabeledImageDataset',
        data_root='data/nuimages/',
        ann_file='train.txt',
        pipeline=train_pipeline))

max_epochs = 100
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.003, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=0.003 * 0.1**3,
        by_epoch=True,
        begin=0,
        end=max_epochs)
]
default_hooks = dict(
    # Stop at the first NaN/inf loss, keeping the last good checkpoint;
    # reseed every epoch so that --resume continues exactly.
    nan_guard=dict(type='NonFiniteLossHook'),
    epoch_seed=dict(type='EpochSeedHook'),
    checkpoint=dict(interval=20, max_keep_ckpts=-1))
custom_hooks = [
    # No silent run from random weights: load_from is required.
    dict(
        type='RequireLoadFromHook',
        hint='convert the InfoMin weights with tools/model_converters/'
        'convert.py --src-format pycontrast --target mmselfsup-moco SRC DST '
        'and pass --cfg-options load_from=DST'),
    dict(type='PretrainMetaHook'),
    dict(type='SkippedImagesReportHook'),
]
# Scalars go to TensorBoard (work_dir/<timestamp>/vis_data) as well as to
# the log files (tools/analysis/plot_curves.py reads those).
vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend')
]
visualizer = dict(vis_backends=vis_backends)
# 1 GPU x 32 images; the lr is not rescaled for other batch sizes.
auto_scale_lr = dict(enable=False, base_batch_size=32)
