# Table 1: SwAV ResNet-50, 100 epochs, 2000 prototypes (main recipe otherwise).
_base_ = './swav_resnet50_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-96_3000p.py'
model = dict(head=dict(loss=dict(num_prototypes=2000)))
max_epochs = 100
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=6e-4,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
