# The main recipe with an adaptive queue start: once the loss has stayed
# below 0.9 ln(3000) for 500 iterations (epoch 30 at the latest).
_base_ = './swav_resnet50_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-96_3000p.py'
# custom_hooks[0] is the SwAVQueueHook; the list is replaced as a whole.
custom_hooks = [
    dict(_base_.custom_hooks[0], adaptive_loss_ratio=0.9,
         adaptive_patience=500),
    *_base_.custom_hooks[1:]
]
