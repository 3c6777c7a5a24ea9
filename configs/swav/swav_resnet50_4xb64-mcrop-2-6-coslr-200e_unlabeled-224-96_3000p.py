# SwAV ResNet-50 on a folder of unlabeled images: the report's main recipe
# (Table 1, best row): 200 epochs, 3000 prototypes, batch 256 = 4 GPUs x 64,
# multi-crop 2 x 224 (14-100 % of the area) + 6 x 96 (5-14 %), queue of 3840
# from epoch 30, prototypes frozen for the first 5005 iterations, LARS with a
# cosine lr, SyncBN, mixed precision with dynamic loss scaling.
# Also known as configs/swav/r50_4gpu.py. See configs/swav/README.md.
_base_ = 'mmselfsup::selfsup/swav/swav_resnet50_8xb32-mcrop-2-6-coslr-200e_in1k-224-96.py'  # noqa: E501
custom_imports = dict(imports=['custom_modules'], allow_failed_imports=False)

num_crops = [2, 6]
model = dict(
    backbone=dict(norm_cfg=dict(type='SyncBN')),
    neck=dict(norm_cfg=dict(type='SyncBN')),
    head=dict(loss=dict(num_prototypes=3000, num_crops=num_crops)))

# The colour distortion and blur of mmselfsup's imagenet_swav_mcrop-2-6.py,
# written once and shared by both crop sizes, so that variants change only
# the crops: [crop_large, color_aug] and [crop_small, color_aug]. The *U8
# transforms take upstream's arguments and random draws and work in uint8
# with lookup tables and single OpenCV calls: 2.9x faster per 224 px crop;
# jitter and grey within +-1 of mmcv's cv2 backend (3 after a hue shift),
# the blur a true Gaussian where Pillow's is a box approximation (mean
# difference 0.3; custom_modules/datasets/photometric.py,
# docs/benchmarks.md).
color_aug = dict(
    type='Compose',
    transforms=[
        dict(
            type='RandomApply',
            transforms=[
                dict(
                    type='ColorJitterU8',
                    brightness=0.8,
                    contrast=0.8,
                    saturation=0.8,
                    hue=0.2)
            ],
            prob=0.8),
        dict(
            type='RandomGrayscaleU8',
            prob=0.2,
            keep_channels=True,
            channel_weights=(0.114, 0.587, 0.2989)),
        dict(
            type='RandomGaussianBlurU8',
            sigma_min=0.1,
            sigma_max=2.0,
            prob=0.5),
        dict(type='RandomFlipU8', prob=0.5),
    ])
crop_large = dict(
    type='RandomResizedCrop', size=224, scale=(0.14, 1.), backend='pillow')
crop_small = dict(
    type='RandomResizedCrop', size=96, scale=(0.05, 0.14), backend='pillow')
# JPEGs are decoded once, after every crop box is drawn, at the largest
# libjpeg reduction (1/2, 1/4, 1/8) that keeps each box at or above its
# output size; other files are decoded in full and go through MultiView as
# they are (custom_modules/datasets/multiview.py, docs/benchmarks.md).
train_pipeline = [
    dict(type='LoadImageFromFileOrSkip', defer_jpeg=True),
    dict(
        type='DecodeOnceMultiView',
        num_views=num_crops,
        transforms=[[crop_large, color_aug], [crop_small, color_aug]]),
    dict(type='PackSelfSupInputs', meta_keys=['img_path'])
]
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    # Restated without the `_scope_` key that the `mmselfsup::` base adds:
    # mmengine passes a collate_fn's keys to the function as arguments.
    collate_fn=dict(_delete_=True, type='default_collate'),
    dataset=dict(
        _delete_=True,
        type='UnlabeledImageDataset',
        data_root='data/unlabeled/',
        pipeline=train_pipeline))

# Mixed precision with dynamic loss scaling: overflowing steps are skipped.
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic')

custom_hooks = [
    dict(
        type='SwAVQueueHook',
        queue_length=3840,  # 15 batches of 256; 960 per GPU
        epoch_queue_starts=30,
        frozen_layers_cfg=dict(prototypes=5005)),
    dict(
        type='SwAVCollapseGuardHook',
        warmup_iters=5005,
        patience=1000,
        tolerance=0.01,
        stop=True),
    dict(type='PretrainMetaHook'),
    dict(type='SkippedImagesReportHook'),
]

default_hooks = dict(
    # Stop at the first NaN/inf loss, keeping the last good checkpoint;
    # reseed every epoch so that --resume continues exactly.
    nan_guard=dict(type='NonFiniteLossHook'),
    epoch_seed=dict(type='EpochSeedHook'))
# Scalars go to TensorBoard (work_dir/<timestamp>/vis_data) as well as to
# the log files (tools/analysis/plot_curves.py reads those).
vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend')
]
visualizer = dict(vis_backends=vis_backends)
