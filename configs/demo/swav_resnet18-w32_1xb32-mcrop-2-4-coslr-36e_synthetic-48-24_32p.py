# The demo's SwAV: the 36-epoch 48/24 px recipe of
# swav_resnet18_1xb32-mcrop-2-4-coslr-36e_synthetic-48-24_32p.py on a
# ResNet-18 of half width (32 stem/base channels: stages of 32-256 instead
# of 64-512 channels, so the projection takes 256 features). Measured on 2
# CPU cores: 0.14 s instead of 0.42 s per backbone step, 36 epochs in ~8
# minutes instead of 20. Fine-tuned by
# faster-rcnn_r18-w32_fpn_synthetic_swav.py. AP50 over random
# initialisation on val after 4/8/12 fine-tuning epochs, with 64-channel
# detector heads: +6.6/+4.8/+6.1 (28 SwAV epochs: +4.0/+0.9/+2.5; 48:
# +4.3/+2.8/+6.0); with the demo's 128-channel ones: +10.1/+6.9/+7.0
# (README.md, "The demo").
_base_ = './swav_resnet18_1xb32-mcrop-2-4-coslr-36e_synthetic-48-24_32p.py'

model = dict(
    backbone=dict(stem_channels=32, base_channels=32),
    neck=dict(in_channels=256, hid_channels=256))
