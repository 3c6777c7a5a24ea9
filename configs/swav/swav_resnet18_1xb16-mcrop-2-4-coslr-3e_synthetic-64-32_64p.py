# A tiny SwAV for the CPU: the demo's pretraining and the tests' run.
# ResNet-18 with BN, 64 prototypes, multi-crop 2 x 64 + 4 x 32 px, batch 16,
# plain SGD (no AMP), Sinkhorn epsilon 0.03 (facebookresearch/swav's advice
# for small batches), a queue of 128 that starts adaptively or at epoch 1,
# on the synthetic unlabeled pool (make demo writes data/synthetic/).
#   python tools/train.py configs/swav/swav_resnet18_1xb16-mcrop-2-4-coslr-3e_synthetic-64-32_64p.py  # noqa: E501
_base_ = './swav_resnet50_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-96_3000p.py'

num_crops = [2, 4]
model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN')),
    neck=dict(
        in_channels=512, hid_channels=512, norm_cfg=dict(type='BN1d')),
    head=dict(
        loss=dict(
            num_prototypes=64,
            num_crops=num_crops,
            epsilon=0.03,
            temperature=0.2)))

crop_large = dict(_base_.crop_large, size=64)
crop_small = dict(_base_.crop_small, size=32)
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(
        data_root='data/synthetic/unlabeled/',
        pipeline=[
            dict(
                t,
                num_views=num_crops,
                transforms=[[crop_large, _base_.color_aug],
                            [crop_small, _base_.color_aug]])
            if t.type == 'DecodeOnceMultiView' else t
            for t in _base_.train_pipeline
        ]))

max_epochs = 3
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, weight_decay=1e-6, momentum=0.9))
param_scheduler = [
    dict(_base_.param_scheduler[0], T_max=max_epochs, end=max_epochs)
]

# The queue hook, the collapse guard (logging only), then the base's hooks.
custom_hooks = [
    dict(
        type='SwAVQueueHook',
        queue_length=128,
        epoch_queue_starts=1,
        adaptive_loss_ratio=0.9,
        adaptive_patience=20,
        frozen_layers_cfg=dict(prototypes=10)),
    dict(_base_.custom_hooks[1], warmup_iters=100, patience=100, stop=False),
    *_base_.custom_hooks[2:]
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=1, max_keep_ckpts=2))
