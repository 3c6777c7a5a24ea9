# The KITTI recipe (faster-rcnn_r50_fpn_20e_kitti.py) shrunk for the CPU:
# ResNet-18, 2 images a batch, 1 epoch, no dataloader workers, and the
# recipe's lr (0.01 for 6 images) scaled to the batch by auto_scale_lr
# (0.0033 here; without the scaling the first steps overshoot and the loss
# rises). Everything else is the recipe's: its data pipeline at KITTI's
# native resolution (resize to fit 1242 x 375, flip), backbone init (a
# converted checkpoint is required: model.backbone.init_cfg.checkpoint=PATH),
# frozen BN, optimizer, both metrics (CocoMetric, KittiMetric) and hooks.
# The real-data tests (tests/real/) and tools/demo_kitti.py train it on real
# KITTI frames.
_base_ = './faster-rcnn_r50_fpn_20e_kitti.py'

model = dict(
    backbone=dict(depth=18), neck=dict(in_channels=[64, 128, 256, 512]))

train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader

max_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=1))
auto_scale_lr = dict(enable=True)
