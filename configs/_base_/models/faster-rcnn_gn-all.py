# GroupNorm everywhere, as mmdet::gn/mask-rcnn_r50_fpn_gn-all_2x_coco.py: GN
# backbone (it needs a GN-pretrained checkpoint), GN neck and a 4conv1fc GN
# box head. A config that inherits an FPN detector and this file merges it
# into its model:
#   model = {{_base_.gn_all}}
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
gn_all = dict(
    backbone=dict(norm_cfg=norm_cfg, norm_eval=False),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=norm_cfg)))
