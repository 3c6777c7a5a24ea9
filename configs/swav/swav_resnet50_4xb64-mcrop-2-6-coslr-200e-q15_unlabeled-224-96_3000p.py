# The main recipe with the queue from epoch 15 (mmselfsup's default) instead
# of 30.
_base_ = './swav_resnet50_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-96_3000p.py'
# custom_hooks[0] is the SwAVQueueHook; the list is replaced as a whole.
custom_hooks = [
    dict(_base_.custom_hooks[0], epoch_queue_starts=15),
    *_base_.custom_hooks[1:]
]
