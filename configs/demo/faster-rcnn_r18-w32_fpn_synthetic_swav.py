# The demo's detector fine-tuned from a SwAV backbone: the half-width
# detector and budget of faster-rcnn_r18-w32_fpn_synthetic.py (from
# scratch), so that the two compare, with the backbone loading of its
# full-width twin faster-rcnn_r18_fpn_synthetic_swav.py.
# The backbone is verified key by key when loaded (VerifiedPretrained) and
# checked against the pretraining's mean/std/channel order/stem
# (TransferCheckHook). Give the checkpoint on the command line:
#   python tools/train.py \
#     configs/demo/faster-rcnn_r18-w32_fpn_synthetic_swav.py \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/swav/N.pth
# (an mmselfsup checkpoint, backbone.*/neck.*/head.* keys, or a converted
# backbone.*-only one) of a ResNet-18 with 32 base channels.
_base_ = './faster-rcnn_r18-w32_fpn_synthetic.py'

model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type='VerifiedPretrained',
            checkpoint=None,
            prefix='backbone.')))
optim_wrapper = dict(constructor='TrainableOptimWrapperConstructor')
custom_hooks = [dict(type='TransferCheckHook', on_mismatch='error')]
