# Frozen backbone, the report's first lr policy: every stage frozen
# (frozen_stages=4; BN fully frozen, as in the root); only the neck, RPN and
# RoI head train (and only they are in the optimizer).
_base_ = './faster-rcnn_r50_fpn_1x_nyu.py'
model = dict(backbone=dict(frozen_stages=4))
