# A tiny InfoMin-style MoCo v2 for the CPU: the tests' contrastive
# retraining. ResNet-18, 512-512-128 head, 32-px crops, batch 16, a queue of
# 256 keys (a multiple of the batch), 2 epochs on the synthetic unlabeled
# pool (`make demo` writes data/synthetic/; its 2000 images give 125
# iterations an epoch). Like the recipe it continues from given weights
# (load_from is required).
#
# Not the recipe's hyper-parameters: at 32 px and a few hundred iterations
# the InfoMin augmentation (blur, RandAugment, strong colour jitter) leaves
# too little for a randomly initialised network to match, and the loss does
# not fall. Here the augmentation is MoCo v1's (crop, flip, colour jitter
# 0.4/0.4/0.4/0.1, grayscale), the key encoder follows faster (momentum 0.99)
# and the lr is 0.01 (0.03 learns more slowly, 0.1 collapses to ln(K+1)).
# Measured losses in configs/infomin/README.md.
#   python tools/train.py \
#       configs/infomin/mocov2_resnet18_1xb16-coslr-2e_synthetic.py \
#       --cfg-options load_from=work_dirs/weights/r18_moco.pth
_base_ = './mocov2_resnet50_infomin-init_1xb32-coslr-100e_nuimages.py'

model = dict(
    queue_len=256,
    momentum=0.99,
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=512, out_channels=128))

crop_size = 32
# The recipe's crop (at 32 px), flip, colour jitter (at MoCo v1's strength)
# and grayscale; no blur, no RandAugment.
view_pipeline = [
    dict(_base_.view_pipeline[0], size=crop_size),
    _base_.view_pipeline[1],
    dict(
        _base_.view_pipeline[2],
        transforms=[
            dict(
                _base_.view_pipeline[2].transforms[0],
                brightness=0.4,
                contrast=0.4,
                saturation=0.4,
                hue=0.1)
        ]),
    _base_.view_pipeline[-1],
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(
        data_root='data/synthetic/unlabeled/',
        ann_file='',
        pipeline=[
            _base_.train_pipeline[0],
            dict(_base_.train_pipeline[1], transforms=[view_pipeline]),
            _base_.train_pipeline[-1],
        ]))

max_epochs = 2
lr = 0.01
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=lr * 0.1**3,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=2))
auto_scale_lr = dict(base_batch_size=16)
