# The report's code with its colour bug, to reproduce its numbers: images fed
# in BGR order (as detectron2 reads them, INPUT.FORMAT "BGR") but normalised
# with the RGB mean/std of the RGB-pretrained backbone, so the red and blue
# channels swap places and each is normalised with the other's statistics.
# Here: mmdet loads BGR, and the data preprocessor keeps that order
# (bgr_to_rgb=False) with the RGB mean/std. TransferCheckHook reports the
# mismatch as a warning instead of stopping the run. Everything else is
# faster-rcnn_r50_fpn_20e-code_kitti.py.
_base_ = './faster-rcnn_r50_fpn_20e-code_kitti.py'

model = dict(data_preprocessor=dict(bgr_to_rgb=False))
custom_hooks = [
    dict(type='TransferCheckHook', on_mismatch='warn'),
    dict(type='EffectiveBatchLrHook')
]
