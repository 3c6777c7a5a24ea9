# The demo's detector fine-tuned from a SwAV backbone:
# faster-rcnn_r18_fpn_synthetic_swav.py on the half-width ResNet-18 of
# faster-rcnn_r18-w32_fpn_synthetic.py (from scratch), with the same budget
# so that the two compare.
# The backbone is verified key by key when loaded (VerifiedPretrained) and
# checked against the pretraining's mean/std/channel order/stem
# (TransferCheckHook). Give the checkpoint on the command line:
#   python tools/train.py \
#     configs/demo/faster-rcnn_r18-w32_fpn_synthetic_swav.py \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/swav/N.pth
# (an mmselfsup checkpoint, backbone.*/neck.*/head.* keys, or a converted
# backbone.*-only one) of a ResNet-18 with 32 base channels.
_base_ = './faster-rcnn_r18_fpn_synthetic_swav.py'

model = dict(
    backbone=dict(stem_channels=32, base_channels=32),
    neck=dict(in_channels=[32, 64, 128, 256]))
# Validated once, after the last epoch: each validation of the 300 val
# images takes ~28 s on 2 cores, and the test split gives the demo's
# result. The training is the same as with validations in between
# (EpochSeedHook reseeds every epoch).
train_cfg = dict(val_interval=_base_.max_epochs)
