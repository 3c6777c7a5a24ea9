# Table 1: SwAV ResNet-34, 100 epochs, 3000 prototypes (main recipe otherwise).
_base_ = './swav_resnet50_4xb64-mcrop-2-6-coslr-100e_unlabeled-224-96_3000p.py'
model = dict(
    backbone=dict(depth=34), neck=dict(in_channels=512, hid_channels=512))
