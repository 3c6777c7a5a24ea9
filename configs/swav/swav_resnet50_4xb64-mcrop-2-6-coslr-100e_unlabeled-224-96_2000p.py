# Table 1: SwAV ResNet-50, 100 epochs, 2000 prototypes (main recipe otherwise).
_base_ = './swav_resnet50_4xb64-mcrop-2-6-coslr-100e_unlabeled-224-96_3000p.py'
model = dict(head=dict(loss=dict(num_prototypes=2000)))
