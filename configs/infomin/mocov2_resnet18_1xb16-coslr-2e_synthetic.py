# A tiny InfoMin-style MoCo v2 for the CPU: the tests' and the demo's
# contrastive retraining. ResNet-18, 512-512-128 head, 64-px crops, batch 16,
# a queue of 256 keys (a multiple of the batch), 2 epochs on the synthetic
# unlabeled pool (`make demo` writes data/synthetic/; its 2000 images give
# 125 iterations an epoch). Augmentation, momentum and temperature are the
# ResNet-50 recipe's; the lr is 10x the recipe's (0.03, the MoCo v2 value).
# It exercises the route; 250 iterations do not lower the loss (measured
# losses in README.md). Continue from converted weights with
#   python tools/train.py \
#       configs/infomin/mocov2_resnet18_1xb16-coslr-2e_synthetic.py \
#       --cfg-options load_from=work_dirs/weights/r18_moco.pth
_base_ = './mocov2_resnet50_infomin-init_1xb32-coslr-100e_nuimages.py'

model = dict(
    queue_len=256,
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=512, out_channels=128))

crop_size = 64
view_pipeline = [
    dict(
        type='RandomResizedCrop',
        size=crop_size,
        scale=(0.2, 1.),
        backend='pillow'),
    *_base_.view_pipeline[1:],
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(
        data_root='data/synthetic/unlabeled/',
        ann_file='',
        pipeline=[
            _base_.train_pipeline[0],
            dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
            _base_.train_pipeline[-1],
        ]))

max_epochs = 2
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=0.03))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=0.03 * 0.1**3,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=2))
auto_scale_lr = dict(base_batch_size=16)
