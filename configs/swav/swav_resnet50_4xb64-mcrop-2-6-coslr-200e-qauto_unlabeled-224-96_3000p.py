# The main recipe with an adaptive queue start: once the loss has stayed
# below 0.9 ln(3000) for 500 iterations (epoch 30 at the latest).
_base_ = './swav_resnet50_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-96_3000p.py'
custom_hooks = [
    dict(
        type='SwAVQueueHook',
        queue_length=3840,
        epoch_queue_starts=30,
        adaptive_loss_ratio=0.9,
        adaptive_patience=500,
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
