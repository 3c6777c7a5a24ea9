# The main recipe with "object-preserving" crops: 2 x 224 at 40-100 % of the
# image area and 6 x 96 at 20-40 % (instead of 14-100 % and 5-14 %).
_base_ = './swav_resnet50_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-96_3000p.py'
crop_large = dict(_base_.crop_large, scale=(0.4, 1.))
crop_small = dict(_base_.crop_small, scale=(0.2, 0.4))
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(
            t,
            transforms=[[crop_large, _base_.color_aug],
                        [crop_small, _base_.color_aug]])
        if t.type == 'DecodeOnceMultiView' else t
        for t in _base_.train_pipeline
    ]))
