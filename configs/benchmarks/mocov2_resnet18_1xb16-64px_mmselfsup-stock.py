# Benchmark baseline: the stock mmselfsup MoCo v2 config shrunk for the CPU
# (ResNet-18, 2 x 64 px views, batch 16, a queue of 4096). Everything else is
# upstream's. The default of
#   python tools/analysis/benchmark.py mocov2
# and the --baseline of a small MoCo-style config of this project.
_base_ = 'mmselfsup::selfsup/mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py'

model = dict(
    queue_len=4096,
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=512))

view_pipeline = [
    dict(
        type='RandomResizedCrop', size=64, scale=(0.2, 1.), backend='pillow'),
    *_base_.view_pipeline[1:]
]
train_dataloader = dict(
    batch_size=16,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
        dict(type='PackSelfSupInputs', meta_keys=['img_path'])
    ]))
