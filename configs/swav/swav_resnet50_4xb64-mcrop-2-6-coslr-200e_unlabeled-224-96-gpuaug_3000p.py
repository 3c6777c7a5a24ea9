# The main recipe with the data path on the GPU: the dataloader workers only
# read files (PackImageBytes); MultiViewGPUPreprocessor decodes each batch
# of JPEGs with nvJPEG and makes the 2 x 224 + 6 x 96 views on the model's
# device, from the views of the CPU pipeline (the same crops, jitter ranges,
# probabilities; custom_modules/models/gpu_multiview.py,
# docs/benchmarks.md). Files that are not JPEGs are decoded by the workers.
_base_ = './swav_resnet50_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-96_3000p.py'

model = dict(
    data_preprocessor=dict(
        type='MultiViewGPUPreprocessor',
        num_views=_base_.num_crops,
        transforms=[[_base_.crop_large, _base_.color_aug],
                    [_base_.crop_small, _base_.color_aug]]))
train_dataloader = dict(
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(pipeline=[
        _base_.train_pipeline[0],
        dict(type='PackImageBytes', meta_keys=['img_path'])
    ]))
