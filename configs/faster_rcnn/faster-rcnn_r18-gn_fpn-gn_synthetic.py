# Demo (R18, synthetic): GroupNorm backbone (GN-pretrained checkpoint), neck
# and 4conv1fc box head, as mmdet's gn-all configs.
_base_ = '../demo/faster-rcnn_r18_fpn_synthetic_swav.py'
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg, norm_eval=False),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=norm_cfg)))
