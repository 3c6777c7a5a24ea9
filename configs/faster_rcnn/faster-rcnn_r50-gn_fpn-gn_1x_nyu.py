# GroupNorm everywhere, as mmdet::gn/mask-rcnn_r50_fpn_gn-all_2x_coco.py:
# GN backbone (needs a GN-pretrained checkpoint), GN neck and a 4conv1fc GN
# box head.
_base_ = './faster-rcnn_r50_fpn_1x_nyu.py'
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg, norm_eval=False),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=norm_cfg)))
