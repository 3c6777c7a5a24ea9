# One learning rate for every trainable parameter (the report's baseline):
# SGD, lr 5e-3, momentum 0.9, weight decay 5e-4. Frozen parameters
# (requires_grad=False) are left out of the optimizer and the groups are
# logged as a table by TrainableOptimWrapperConstructor.
#
# Use it from a config that also inherits a detector:
#   _base_ = ['mmdet::...', '../_base_/schedules/lr-uniform.py']
#   optim_wrapper = {{_base_.lr_uniform}}
lr_uniform = dict(
    type='OptimWrapper',
    constructor='TrainableOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=5e-3, momentum=0.9, weight_decay=5e-4))
