# Benchmark baseline: the stock mmselfsup SwAV config at the size of
# configs/swav/swav_resnet18_1xb16-mcrop-2-4-coslr-3e_synthetic-64-32_64p.py
# (ResNet-18 with BN, 64 prototypes, 2 x 64 + 4 x 32 px crops, batch 16, a
# queue of 128 and prototypes frozen for 50 iterations). Everything else is
# upstream's: SwAVModel/SwAVHead/SwAVLoss, the stock SwAVHook, LARS with its
# lr and schedule, the runtime hooks. Only for
#   python tools/analysis/benchmark.py swav --baseline THIS_FILE
# Upstream's SwAVHook calls .cuda() when the queue starts (at
# epoch_queue_starts = 15); a benchmark stays in epoch 0, so the hook runs
# on the CPU too and its per-iteration cost (prototype freezing) is timed.
_base_ = 'mmselfsup::selfsup/swav/swav_resnet50_8xb32-mcrop-2-6-coslr-200e_in1k-224-96.py'  # noqa: E501

num_crops = [2, 4]
model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN')),
    neck=dict(
        in_channels=512, hid_channels=512, norm_cfg=dict(type='BN1d')),
    head=dict(loss=dict(num_prototypes=64, num_crops=num_crops)))

view_large = [
    dict(
        type='RandomResizedCrop', size=64, scale=(0.14, 1.), backend='pillow'),
    *_base_.view_pipeline1[1:]
]
view_small = [
    dict(
        type='RandomResizedCrop', size=32, scale=(0.05, 0.14),
        backend='pillow'), *_base_.view_pipeline2[1:]
]
train_dataloader = dict(
    batch_size=16,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(
            type='MultiView',
            num_views=num_crops,
            transforms=[view_large, view_small]),
        dict(type='PackSelfSupInputs', meta_keys=['img_path'])
    ]))

custom_hooks = [
    dict(
        type='SwAVHook',
        priority='VERY_HIGH',
        batch_size=16,
        epoch_queue_starts=15,
        crops_for_assign=[0, 1],
        feat_dim=128,
        queue_length=128,
        frozen_layers_cfg=dict(prototypes=50))
]
