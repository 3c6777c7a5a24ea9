# The "3-5-7" per-stage learning rates of the fine-tuning report, as three
# groups (base lr 5e-3, so lrs 5e-3 / 5e-5 / 5e-7):
#   detector (neck, RPN, RoI head) x 1
#   backbone stages 2-4 (layer2-layer4; res5 of a C4 shared head) x 1e-2
#   backbone stem (conv1/bn1, or stem.* of a deep stem) + stage 1 x 1e-4
# SGD momentum 0.9, weight decay 5e-4. custom_keys match by substring and the
# longest key wins, so 'backbone.layer2' beats 'backbone'. Frozen parameters
# are left out and the groups are logged once as a table
# (TrainableOptimWrapperConstructor).
#
# Use it from a config that also inherits a detector:
#   _base_ = ['./faster-rcnn_r50_fpn_1x_nyu.py',
#             '../_base_/schedules/lr-3-5-7.py']
#   optim_wrapper = {{_base_.lr_3_5_7}}
lr_3_5_7 = dict(
    type='OptimWrapper',
    constructor='TrainableOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=5e-3, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys={
            'backbone': dict(lr_mult=1e-4),
            'backbone.layer2': dict(lr_mult=1e-2),
            'backbone.layer3': dict(lr_mult=1e-2),
            'backbone.layer4': dict(lr_mult=1e-2),
            'shared_head.layer4': dict(lr_mult=1e-2),
        }))
