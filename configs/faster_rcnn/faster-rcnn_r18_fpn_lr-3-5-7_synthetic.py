# Demo (R18, synthetic, SwAV backbone): the "3-5-7" lr preset
# (configs/_base_/schedules/lr-3-5-7.py).
_base_ = [
    '../demo/faster-rcnn_r18_fpn_synthetic_swav.py',
    '../_base_/schedules/lr-3-5-7.py'
]
optim_wrapper = {{_base_.lr_3_5_7}}
