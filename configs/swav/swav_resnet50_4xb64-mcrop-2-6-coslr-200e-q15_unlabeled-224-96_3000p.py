# The main recipe with the queue from epoch 15 (mmselfsup's default) instead
# of 30.
_base_ = './swav_resnet50_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-96_3000p.py'
custom_hooks = [
    dict(
        type='SwAVQueueHook',
        queue_length=3840,
        epoch_queue_starts=15,
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
