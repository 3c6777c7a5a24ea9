# The "3-5-7" lr preset: detector x1, backbone stages 2-4 x1e-2, stem and
# stage 1 x1e-4 (configs/_base_/schedules/lr-3-5-7.py). Stem and stage 1 are
# trainable here (frozen_stages=-1) so that their group exists.
_base_ = ['./faster-rcnn_r50_fpn_1x_nyu.py', '../_base_/schedules/lr-3-5-7.py']
model = dict(backbone=dict(frozen_stages=-1))
optim_wrapper = {{_base_.lr_3_5_7}}
