# Copyright (c) OpenMMLab. All rights reserved.
"""A torchvision-backed stand-in for the compiled ``mmcv._ext`` module.

Compiled mmcv 2.0.x does not build against torch >= 2.1 and has no wheel on
PyPI, so this project installs the pure-Python ``mmcv-lite``. Faster R-CNN
only needs three compiled functions from ``mmcv._ext``: ``nms``,
``roi_align_forward`` and ``roi_align_backward``. They are provided here on
top of ``torchvision.ops`` (same kernels lineage as mmcv: both are detectron2's
RoIAlign), on CPU and CUDA tensors.

Every other name of ``mmcv._ext`` resolves to a stub so that ``mmcv.ops``
imports (its modules check ``hasattr`` at import time), but calling a stub
raises :class:`MissingOpError` naming the op and the remedy.

Answers: mmcv-lite 2.0.1 ships no ``mmcv._ext``; ``import mmcv.ops`` fails
with ``ModuleNotFoundError: No module named 'mmcv._ext'``.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Callable

import torch
from torch import Tensor

#: The ``mmcv._ext`` functions implemented here.
PROVIDED_OPS = ('nms', 'roi_align_forward', 'roi_align_backward')

_MODULE_NAME = 'mmcv._ext'


class MissingOpError(NotImplementedError):
    """An ``mmcv._ext`` op that the torchvision provider does not implement."""


def _missing(name: str) -> Callable:

    def stub(*args, **kwargs):
        raise MissingOpError(
            f'mmcv op "{name}" needs compiled mmcv, but only mmcv-lite is '
            f'installed (this project provides {", ".join(PROVIDED_OPS)} '
            'through torchvision). Install a compiled mmcv that matches your '
            'torch and CUDA, e.g. `mim install "mmcv>=2.0.0rc4,<2.2.0"`, or '
            'choose a model that does not use this op.')

    stub.__name__ = name
    stub.__qualname__ = name
    stub.__doc__ = f'Stub for mmcv._ext.{name}: raises MissingOpError.'
    return stub


def nms(bboxes: Tensor,
        scores: Tensor,
        iou_threshold: float,
        offset: int = 0) -> Tensor:
    """Greedy NMS with mmcv's signature; returns kept indices (int64).

    ``offset=1`` is the legacy pixel convention (width = x2 - x1 + 1). Ties in
    score keep the earlier box first (a stable order), so results do not
    depend on the sort implementation of the device.
    """
    from torchvision.ops import nms as tv_nms
    if bboxes.numel() == 0:
        return bboxes.new_zeros((0, ), dtype=torch.long)
    if offset not in (0, 1):
        raise ValueError(f'nms offset must be 0 or 1, got {offset}')
    boxes = bboxes.float() if bboxes.dtype == torch.half else bboxes
    if offset:
        boxes = boxes.clone()
        boxes[:, 2:] += offset
    order = torch.sort(scores, descending=True, stable=True)[1]
    # Strictly decreasing surrogate scores: torchvision then keeps our order.
    rank = torch.arange(
        order.numel(), 0, -1, dtype=boxes.dtype, device=boxes.device)
    keep = tv_nms(boxes[order], rank, float(iou_threshold))
    return order[keep]


def _check_avg(pool_mode: int, name: str) -> None:
    if pool_mode != 1:
        raise MissingOpError(
            f'{name} with pool_mode="max" needs compiled mmcv; the '
            'torchvision provider implements pool_mode="avg" only (the '
            'default of mmdet\'s RoIAlign). Use pool_mode="avg" or install '
            'compiled mmcv.')


def roi_align_forward(input: Tensor,
                      rois: Tensor,
                      output: Tensor,
                      argmax_y: Tensor,
                      argmax_x: Tensor,
                      aligned_height: int,
                      aligned_width: int,
                      spatial_scale: float,
                      sampling_ratio: int,
                      pool_mode: int,
                      aligned: bool) -> None:
    """RoIAlign forward, writing into ``output`` as mmcv's kernel does.

    ``rois`` is ``(K, 5)``: batch index, x1, y1, x2, y2. ``sampling_ratio``
    <= 0 samples adaptively (ceil of the bin size), as in mmcv.
    """
    from torchvision.ops import roi_align as tv_roi_align
    _check_avg(pool_mode, 'roi_align_forward')
    result = tv_roi_align(
        input,
        rois.to(input.dtype),
        output_size=(aligned_height, aligned_width),
        spatial_scale=float(spatial_scale),
        sampling_ratio=int(sampling_ratio),
        aligned=bool(aligned))
    output.copy_(result)


def roi_align_backward(grad_output: Tensor,
                       rois: Tensor,
                       argmax_y: Tensor,
                       argmax_x: Tensor,
                       grad_input: Tensor,
                       aligned_height: int,
                       aligned_width: int,
                       spatial_scale: float,
                       sampling_ratio: int,
                       pool_mode: int,
                       aligned: bool) -> None:
    """RoIAlign backward, accumulating into ``grad_input`` like mmcv."""
    _check_avg(pool_mode, 'roi_align_backward')
    batch, channels, height, width = grad_input.shape
    grad = torch.ops.torchvision._roi_align_backward(
        grad_output.contiguous(), rois.to(grad_output.dtype),
        float(spatial_scale), int(aligned_height), int(aligned_width), batch,
        channels, height, width, int(sampling_ratio), bool(aligned))
    grad_input.add_(grad.to(grad_input.dtype))


class _ProviderLoader(importlib.abc.Loader):
    """Loader of the stand-in module, so ``find_spec``/``find_loader`` (and
    hence mmcv's ``check_ops_exist()``) see ``mmcv._ext`` as present."""

    def create_module(self, spec):
        return build_module()

    def exec_module(self, module):
        pass


class _ExtModule(types.ModuleType):
    """``mmcv._ext`` whose unknown attributes are stubs that raise on call."""

    def __getattr__(self, name: str) -> Callable:
        if name.startswith('__'):
            raise AttributeError(name)
        stub = _missing(name)
        setattr(self, name, stub)
        return stub


def build_module() -> types.ModuleType:
    """Build the stand-in ``mmcv._ext`` module (not yet installed)."""
    module = _ExtModule(_MODULE_NAME, __doc__)
    module.__spec__ = importlib.machinery.ModuleSpec(
        _MODULE_NAME, loader=_ProviderLoader(), origin=__name__)
    module.__file__ = __file__
    module.__provider__ = __name__
    for name in PROVIDED_OPS:
        setattr(module, name, globals()[name])
    return module


def compiled_mmcv_available() -> bool:
    """Whether a real compiled ``mmcv._ext`` is importable."""
    module = sys.modules.get(_MODULE_NAME)
    if module is not None:
        return getattr(module, '__provider__', None) is None
    try:
        return importlib.util.find_spec(_MODULE_NAME) is not None
    except (ImportError, ValueError):
        return False


def install() -> bool:
    """Register the provider as ``mmcv._ext`` unless compiled mmcv exists.

    Returns:
        bool: True when the provider is (now or already) in use.
    """
    if compiled_mmcv_available():
        return False
    if _MODULE_NAME not in sys.modules:
        module = build_module()
        sys.modules[_MODULE_NAME] = module
        import mmcv
        mmcv._ext = module
    return True
