"""A torchvision-backed stand-in for the compiled ``mmcv._ext`` module.

Faster R-CNN needs ``nms``, ``roi_align_forward`` and ``roi_align_backward``,
provided here over ``torchvision.ops`` (CPU and CUDA) with the decisions of
mmcv's CPU kernels (``mmcv/ops/csrc/pytorch/cpu/{nms,roi_align}.cpp``). Any
other name is a stub, so ``mmcv.ops`` imports, that raises
:class:`MissingOpError` when called.

Answers: mmcv-lite 2.0.1 ships no ``mmcv._ext`` (compiled mmcv 2.0.x does not
build against torch >= 2.1), so ``import mmcv.ops`` fails. Skipped when a
compiled ``mmcv._ext`` is importable.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Callable

import numpy as np
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


def _to_float32(value: float) -> float:
    """``value`` as the C++ ``float`` of mmcv's pybind signatures holds it."""
    return torch.tensor(float(value), dtype=torch.float32).item()


def _greedy_nms_float32(boxes: Tensor, threshold: float,
                        offset: int) -> Tensor:
    """mmcv's ``nms_cpu`` loop, step by step in float32, over ``(N, 4)``
    boxes sorted by score; returns the kept positions (int64, CPU). Used for
    ``offset=1``, which torchvision cannot express exactly."""
    x1, y1, x2, y2 = (
        np.ascontiguousarray(c) for c in boxes.detach().cpu().numpy().T)
    off, zero = np.float32(offset), np.float32(0)
    thr = np.float32(threshold)
    areas = (x2 - x1 + off) * (y2 - y1 + off)
    suppressed = np.zeros(len(areas), dtype=bool)
    with np.errstate(divide='ignore', invalid='ignore'):
        for i in range(len(areas)):
            if suppressed[i]:
                continue
            rest = slice(i + 1, None)
            w = np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest])
            h = np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest])
            w, h = w + off, h + off
            # std::max(0.f, v): v only when 0 < v (a NaN becomes 0).
            inter = np.where(w > zero, w, zero) * np.where(h > zero, h, zero)
            ovr = inter / (areas[i] + areas[rest] - inter)
            suppressed[rest] |= ovr > thr
    return torch.from_numpy(np.flatnonzero(~suppressed))


def nms(bboxes: Tensor,
        scores: Tensor,
        iou_threshold: float,
        offset: int = 0) -> Tensor:
    """Greedy NMS as mmcv's ``nms_cpu`` decides it, on every device.

    IoU in float32 against the threshold rounded to float32 (torchvision
    compares with the double, which drops an IoU equal to it). Equal scores
    keep the earlier box first. ``offset=1`` (width = x2 - x1 + 1) runs
    mmcv's loop on the CPU: torchvision has no offset, and adding 1 to x2
    and y2 would round differently.

    Args:
        bboxes (Tensor): ``(N, 4)`` boxes x1, y1, x2, y2, read as float32.
        scores (Tensor): ``(N, )`` scores.
        iou_threshold (float): A box whose IoU with a kept box is greater
            is suppressed.
        offset (int): 0, or 1 for the legacy convention. Defaults to 0.

    Returns:
        Tensor: Indices (int64) of the kept boxes, by descending score.
    """
    from torchvision.ops import nms as tv_nms
    if bboxes.numel() == 0:
        return bboxes.new_zeros((0, ), dtype=torch.long)
    if offset not in (0, 1):
        raise ValueError(f'nms offset must be 0 or 1, got {offset}')
    boxes = bboxes.float()
    threshold = _to_float32(iou_threshold)
    order = torch.sort(scores, descending=True, stable=True)[1]
    if offset:
        keep = _greedy_nms_float32(boxes[order], threshold, offset)
        return order[keep.to(order.device)]
    # Strictly decreasing surrogate scores: torchvision then keeps our order.
    rank = torch.arange(
        order.numel(), 0, -1, dtype=boxes.dtype, device=boxes.device)
    keep = tv_nms(boxes[order], rank, threshold)
    return order[keep]


def _check_avg(pool_mode: int, name: str) -> None:
    if pool_mode != 1:
        raise MissingOpError(
            f'{name} with pool_mode="max" needs compiled mmcv; the '
            'torchvision provider implements pool_mode="avg" only (the '
            'default of mmdet\'s RoIAlign). Use pool_mode="avg" or install '
            'compiled mmcv.')


class InvalidRoIError(RuntimeError, ValueError):
    """An RoI of negative size under ``aligned=True`` (a ``RuntimeError``
    like mmcv's ``AT_ASSERTM``, a ``ValueError`` for the bad argument)."""


def _check_roi_sizes(rois: Tensor, spatial_scale: float, aligned: bool,
                     name: str) -> None:
    """Raise :class:`InvalidRoIError` for an RoI of negative (or NaN)
    scaled size under ``aligned``, as mmcv's CPU kernel asserts, on every
    device: torchvision crashes on a grossly inverted RoI and returns zeros
    for a barely inverted one. Without ``aligned`` both clamp to 1x1."""
    if not aligned or rois.numel() == 0:
        return
    scaled = rois[:, 1:5] * spatial_scale - 0.5
    width = scaled[:, 2] - scaled[:, 0]
    height = scaled[:, 3] - scaled[:, 1]
    bad = ~((width >= 0) & (height >= 0))
    if not bool(bad.any()):
        return
    index = int(bad.nonzero()[0, 0])
    batch, x1, y1, x2, y2 = rois[index].tolist()

    def fmt(value: float) -> str:  # tells a barely inverted corner apart
        return repr(value) if rois.dtype == torch.float64 else f'{value:.9g}'

    problem = 'a NaN' if bool(scaled[index].isnan().any()) else 'a negative'
    raise InvalidRoIError(
        f'{name}: RoI {index} (batch {batch:g}, x1={fmt(x1)}, y1={fmt(y1)}, '
        f'x2={fmt(x2)}, y2={fmt(y2)}) has {problem} size '
        f'(width {fmt(float(width[index]))}, height '
        f'{fmt(float(height[index]))} at spatial_scale={spatial_scale:g}); '
        f'{int(bad.sum())} of {rois.shape[0]} RoIs are invalid. RoIAlign '
        'with aligned=True needs x2 >= x1 and y2 >= y1, and compiled mmcv '
        'refuses such RoIs as well ("ROIs in ROIAlign cannot have '
        'non-negative size!"). Fix the boxes before RoIAlign (swap or clamp '
        'the corners, or drop degenerate boxes), or use aligned=False, '
        'which treats every RoI as at least 1x1.')


def roi_align_forward(input: Tensor, rois: Tensor, output: Tensor,
                      argmax_y: Tensor, argmax_x: Tensor, aligned_height: int,
                      aligned_width: int, spatial_scale: float,
                      sampling_ratio: int, pool_mode: int,
                      aligned: bool) -> None:
    """RoIAlign forward (avg mode) of mmcv, written into ``output``.

    torchvision's kernel shares mmcv's sampling and interpolation (both are
    detectron2's). One difference remains, for float64 with
    ``sampling_ratio <= 0``: mmcv takes ``ceilf`` of the bin size, so a bin
    size above an integer by less than float32 resolution gets one more
    sample per side here. ``rois`` is ``(K, 5)``: batch index, x1, y1, x2, y2.
    """
    from torchvision.ops import roi_align as tv_roi_align
    _check_avg(pool_mode, 'roi_align_forward')
    rois = rois.to(input.dtype)
    scale = _to_float32(spatial_scale)
    _check_roi_sizes(rois, scale, aligned, 'roi_align_forward')
    output.copy_(
        tv_roi_align(input, rois, (aligned_height, aligned_width), scale,
                     int(sampling_ratio), bool(aligned)))


def roi_align_backward(grad_output: Tensor, rois: Tensor, argmax_y: Tensor,
                       argmax_x: Tensor, grad_input: Tensor,
                       aligned_height: int, aligned_width: int,
                       spatial_scale: float, sampling_ratio: int,
                       pool_mode: int, aligned: bool) -> None:
    """RoIAlign backward (avg mode) of mmcv, added into ``grad_input``."""
    _check_avg(pool_mode, 'roi_align_backward')
    batch, channels, height, width = grad_input.shape
    rois = rois.to(grad_output.dtype)
    scale = _to_float32(spatial_scale)
    _check_roi_sizes(rois, scale, aligned, 'roi_align_backward')
    grad = torch.ops.torchvision._roi_align_backward(
        grad_output.contiguous(), rois, scale, int(aligned_height),
        int(aligned_width), batch, channels, height, width,
        int(sampling_ratio), bool(aligned))
    grad_input.add_(grad.to(grad_input.dtype))


class _ProviderLoader(importlib.abc.Loader):
    """So that mmcv's ``check_ops_exist()`` finds a loader."""

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
    """Register the provider as ``mmcv._ext`` unless compiled mmcv exists;
    returns whether the provider is in use."""
    if compiled_mmcv_available():
        return False
    if _MODULE_NAME not in sys.modules:
        module = build_module()
        sys.modules[_MODULE_NAME] = module
        import mmcv
        mmcv._ext = module
    return True
