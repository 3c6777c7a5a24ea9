"""NMS and RoIAlign through the ``mmcv._ext`` provider against
torchvision.ops called directly.

Three ways to each op, on the same tensors:

- ``torchvision.ops``: the kernels themselves;
- ``ext_ops``: :mod:`custom_modules.compat.ext_ops` with mmcv's ``_ext``
  signature (what the provider adds: a stable score order for NMS, the
  copy into mmcv's preallocated output for RoIAlign);
- ``mmcv.ops``: ``mmcv.ops.nms`` / ``mmcv.ops.RoIAlign``, the path mmdet
  takes (argument checks, autograd function, the ``dets`` concatenation);
- ``mmcv.ops use_torchvision``: ``mmcv.ops.RoIAlign(use_torchvision=True)``,
  which calls torchvision directly (a config can choose it through
  ``roi_layer=dict(type='RoIAlign', ..., use_torchvision=True)``).
"""
from typing import Callable, Dict, Tuple

import torch

#: Reference of every group (the ratio denominator).
REFERENCE = 'torchvision.ops'


def nms_inputs(num_boxes: int,
               device: str = 'cpu',
               seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Boxes in clusters (as RPN proposals overlap) and scores.

    Args:
        num_boxes (int): Number of boxes.
        device (str): Device. Defaults to ``'cpu'``.
        seed (int): Seed. Defaults to 0.

    Returns:
        tuple: ``(N, 4)`` x1 y1 x2 y2 boxes in an 800 x 1333 image and
        ``(N,)`` scores.
    """
    gen = torch.Generator().manual_seed(seed)
    clusters = max(1, num_boxes // 8)
    centres = torch.rand(clusters, 2, generator=gen) * torch.tensor(
        [1333., 800.])
    sizes = 16 + torch.rand(clusters, 2, generator=gen) * 240
    which = torch.randint(clusters, (num_boxes, ), generator=gen)
    jitter = 1 + 0.25 * (torch.rand(num_boxes, 4, generator=gen) - 0.5)
    half = sizes[which] / 2
    centre = centres[which]
    boxes = torch.cat([centre - half * jitter[:, :2],
                       centre + half * jitter[:, 2:]], 1)
    scores = torch.rand(num_boxes, generator=gen)
    return boxes.to(device), scores.to(device)


def roi_inputs(num_rois: int,
               feat_size: Tuple[int, int] = (48, 64),
               channels: int = 256,
               batch: int = 2,
               stride: int = 4,
               device: str = 'cpu',
               seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """A feature map and RoIs ``(K, 5)`` (batch index, x1 y1 x2 y2) in image
    pixels, for ``spatial_scale = 1 / stride``. RoIs are 8-64 px, the sizes
    that mmdet's FPN RoI extractor maps to its stride-4 level (< 112 px)."""
    gen = torch.Generator().manual_seed(seed)
    h, w = feat_size
    feats = torch.randn(batch, channels, h, w, generator=gen)
    img_w, img_h = w * stride, h * stride
    xy = torch.rand(num_rois, 2, generator=gen) * torch.tensor(
        [img_w * 0.8, img_h * 0.8])
    wh = 8 + torch.rand(num_rois, 2, generator=gen) * 56
    index = torch.randint(batch, (num_rois, 1), generator=gen).float()
    rois = torch.cat([index, xy, xy + wh], 1)
    return feats.to(device), rois.to(device)


def op_groups(num_boxes: int = 2000,
              iou_threshold: float = 0.7,
              num_rois: int = 512,
              feat_size: Tuple[int, int] = (48, 64),
              channels: int = 256,
              output_size: int = 7,
              device: str = 'cpu') -> Dict[str, Dict[str, Callable]]:
    """The callables to time, by op.

    Returns:
        dict: ``{op: {way: callable}}`` with ops ``nms``,
        ``roi_align forward`` and ``roi_align forward+backward``; the way
        :data:`REFERENCE` first.
    """
    import mmcv.ops
    import torchvision.ops as tv

    from custom_modules.compat import ext_ops
    stride = 4
    scale = 1.0 / stride
    boxes, scores = nms_inputs(num_boxes, device)
    feats, rois = roi_inputs(
        num_rois, feat_size, channels, stride=stride, device=device)
    out_shape = (rois.shape[0], channels, output_size, output_size)
    output = feats.new_zeros(out_shape)
    argmax = feats.new_zeros(0)
    mm_roi_align = mmcv.ops.RoIAlign((output_size, output_size),
                                     scale,
                                     sampling_ratio=0,
                                     pool_mode='avg',
                                     aligned=True)
    mm_roi_align_tv = mmcv.ops.RoIAlign((output_size, output_size),
                                        scale,
                                        sampling_ratio=0,
                                        pool_mode='avg',
                                        aligned=True,
                                        use_torchvision=True)
    feats_grad = feats.clone().requires_grad_(True)

    def tv_roi_align(x):
        return tv.roi_align(
            x,
            rois, (output_size, output_size),
            spatial_scale=scale,
            sampling_ratio=0,
            aligned=True)

    def ext_roi_align():
        ext_ops.roi_align_forward(
            feats,
            rois,
            output,
            argmax,
            argmax,
            aligned_height=output_size,
            aligned_width=output_size,
            spatial_scale=scale,
            sampling_ratio=0,
            pool_mode=1,
            aligned=True)

    def backward(fn):

        def run():
            feats_grad.grad = None
            fn(feats_grad).sum().backward()

        return run

    return {
        'nms': {
            REFERENCE: lambda: tv.nms(boxes, scores, iou_threshold),
            'ext_ops': lambda: ext_ops.nms(boxes, scores, iou_threshold, 0),
            'mmcv.ops': lambda: mmcv.ops.nms(boxes, scores, iou_threshold),
        },
        'roi_align forward': {
            REFERENCE: lambda: tv_roi_align(feats),
            'ext_ops': ext_roi_align,
            'mmcv.ops': lambda: mm_roi_align(feats, rois),
            'mmcv.ops use_torchvision': lambda: mm_roi_align_tv(feats, rois),
        },
        'roi_align forward+backward': {
            REFERENCE: backward(tv_roi_align),
            'mmcv.ops': backward(lambda x: mm_roi_align(x, rois)),
            'mmcv.ops use_torchvision':
            backward(lambda x: mm_roi_align_tv(x, rois)),
        },
    }
