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
    """``value`` rounded to the nearest float32, as a C++ ``float`` holds it.

    mmcv's pybind signatures take the NMS threshold and the RoIAlign
    ``spatial_scale`` as ``float``, so compiled mmcv never sees the double
    that Python passes.
    """
    return torch.tensor(float(value), dtype=torch.float32).item()


def _greedy_nms_float32(boxes: Tensor, threshold: float,
                        offset: int) -> Tensor:
    """mmcv's ``nms_cpu`` loop over boxes already sorted by score.

    Every step is a float32 operation in the kernel's order, so it decides
    exactly as ``mmcv/ops/csrc/pytorch/cpu/nms.cpp`` does for any ``offset``.
    Used for ``offset=1``, which torchvision cannot express exactly.

    Args:
        boxes (Tensor): ``(N, 4)`` float32 boxes in descending score order.
        threshold (float): The IoU threshold, already a float32 value.
        offset (int): 0 or 1, added to widths and heights.

    Returns:
        Tensor: Positions (int64, CPU) of the kept boxes in ``boxes``.
    """
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
    """Greedy NMS with mmcv's signature; returns kept indices (int64).

    Decides as ``nms_cpu`` in mmcv's ``mmcv/ops/csrc/pytorch/cpu/nms.cpp``:
    boxes are float32, ``area = (x2 - x1 + offset) * (y2 - y1 + offset)``,
    ``iou = inter / (area_i + area_j - inter)`` in float32, and a later box
    is dropped when ``iou > iou_threshold`` with the threshold a C++
    ``float``. torchvision's CPU kernel computes the same float32 IoU but
    compares it with a double threshold, so the threshold is rounded to
    float32 first: an IoU equal to the threshold in float32 then keeps the
    box, as in mmcv (with the double 0.3, an IoU of exactly 3/10 would be
    dropped). torchvision's CUDA kernel computes the same quotient and
    compares it in float32 as well. (mmcv's own CUDA kernel,
    ``mmcv/ops/csrc/common/cuda/nms_cuda_kernel.cuh``, tests
    ``inter > thr * union`` instead, which can differ from its CPU kernel
    by one rounding at exact ties; this provider follows the CPU kernel on
    every device.)

    ``offset=1`` is the legacy pixel convention (width = x2 - x1 + 1).
    torchvision has no offset, and adding 1 to x2 and y2 would round
    differently for fractional coordinates, so that mode runs mmcv's loop
    in float32 here (on the CPU; slower, but exact).

    Ties in score keep the earlier box first (a stable order), so results do
    not depend on the sort implementation of the device.

    Args:
        bboxes (Tensor): ``(N, 4)`` boxes, x1, y1, x2, y2. Computed in
            float32 whatever their dtype, as mmcv's kernels read them.
        scores (Tensor): ``(N, )`` scores.
        iou_threshold (float): Boxes whose IoU with a kept box is greater
            than this (compared in float32) are suppressed.
        offset (int): 0, or 1 for the legacy convention.

    Returns:
        Tensor: Indices of the kept boxes, by descending score.
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
    """An RoI that RoIAlign refuses: negative size under ``aligned=True``.

    A ``RuntimeError`` like the ``AT_ASSERTM`` failure of compiled mmcv, and
    a ``ValueError`` because the argument is at fault.
    """


def _format_value(value: float, dtype: torch.dtype) -> str:
    # Enough digits to tell a barely inverted corner from an equal one.
    return repr(value) if dtype == torch.float64 else f'{value:.9g}'


def _check_roi_sizes(rois: Tensor, spatial_scale: float, aligned: bool,
                     name: str) -> None:
    """Refuse RoIs of negative size under ``aligned``, like mmcv's kernel.

    ``mmcv/ops/csrc/pytorch/cpu/roi_align.cpp`` computes, in the RoI dtype,
    ``roi_width = (x2 * scale - 0.5) - (x1 * scale - 0.5)`` (likewise the
    height) and, under ``aligned``, asserts ``roi_width >= 0 &&
    roi_height >= 0`` in forward and backward (so a NaN corner fails too).
    torchvision has no such check: a grossly inverted RoI crashes it
    (``cannot create std::vector larger than max_size()``) and a barely
    inverted one yields zeros. Without ``aligned`` both kernels clamp the
    size to at least 1x1, so nothing is checked. (mmcv's CUDA kernel skips
    the assert and returns zeros; this check runs on every device.)

    Args:
        rois (Tensor): ``(K, 5)`` RoIs in the dtype of the features.
        spatial_scale (float): The scale, already a float32 value.
        aligned (bool): Whether the half-pixel offset is applied.
        name (str): The op, for the message.

    Raises:
        InvalidRoIError: Naming the first bad RoI, its coordinates and the
            remedies.
    """
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

    def fmt(value: float) -> str:
        return _format_value(value, rois.dtype)

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

    Matches ``ROIAlignForward`` (avg mode) of mmcv's
    ``mmcv/ops/csrc/pytorch/cpu/roi_align.cpp``, whose sampling, bilinear
    interpolation and boundary rules torchvision's kernel shares (both are
    detectron2's). Like mmcv, ``spatial_scale`` is taken as a float32 value
    (mmcv's binding declares it ``float``); under ``aligned`` an RoI of
    negative scaled width or height raises :class:`InvalidRoIError` (mmcv's
    ``AT_ASSERTM``); without it the RoI is clamped to at least 1x1.
    One difference remains, for float64 only: with ``sampling_ratio`` <= 0
    mmcv takes ``ceilf`` of the bin size, i.e. rounds it to float32 first,
    and torchvision does not, so a bin size above an integer by less than
    float32 resolution gets one more sample per side here.

    ``rois`` is ``(K, 5)``: batch index, x1, y1, x2, y2. ``sampling_ratio``
    <= 0 samples adaptively (ceil of the bin size), as in mmcv.
    """
    from torchvision.ops import roi_align as tv_roi_align
    _check_avg(pool_mode, 'roi_align_forward')
    rois = rois.to(input.dtype)
    scale = _to_float32(spatial_scale)
    _check_roi_sizes(rois, scale, aligned, 'roi_align_forward')
    result = tv_roi_align(
        input,
        rois,
        output_size=(aligned_height, aligned_width),
        spatial_scale=scale,
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
    """RoIAlign backward, accumulating into ``grad_input`` like mmcv.

    Matches ``ROIAlignBackward`` (avg mode) of mmcv's
    ``mmcv/ops/csrc/pytorch/cpu/roi_align.cpp``, including its float32
    ``spatial_scale`` and its refusal of RoIs of negative size under
    ``aligned`` (:class:`InvalidRoIError`).
    """
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
