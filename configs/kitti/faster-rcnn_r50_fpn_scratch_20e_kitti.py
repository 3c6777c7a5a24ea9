# The from-scratch baseline of the KITTI recipe: no pretrained weights
# (mmdet's default initialisation), the whole backbone trained, and BN
# trained with batch statistics (requires_grad=True, norm_eval=False).
# BN rather than GN: 6 images of 1242 x 375 px a GPU give BN usable batch
# statistics, and keeping the pretrained runs' architecture makes this a
# comparison of initialisations only (as the NYU scratch baseline,
# configs/faster_rcnn/faster-rcnn_r50_fpn_scratch_1x_nyu.py). Same
# schedule as the pretrained runs.
_base_ = './faster-rcnn_r50_fpn_20e_kitti.py'

model = dict(
    backbone=dict(
        init_cfg=None,
        norm_eval=False,
        norm_cfg=dict(type='BN', requires_grad=True)))
