# Table 1: SwAV ResNet-18, 70 epochs, 1000 prototypes (main recipe otherwise).
_base_ = './swav_resnet50_4xb64-mcrop-2-6-coslr-100e_unlabeled-224-96_3000p.py'
model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=512),
    head=dict(loss=dict(num_prototypes=1000)))
max_epochs = 70
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(_base_.param_scheduler[0], T_max=max_epochs, end=max_epochs)
]
