"""``MultiViewGPUPreprocessor``: decode a batch of JPEG bytes and cut its
augmented views on the model's device, from the views' ``MultiView``
configs (docs/benchmarks.md, "What the fast data paths compute").

The loader only reads files (``LoadImageFromFileOrSkip(defer_jpeg=True)``,
``PackImageBytes``, ``pseudo_collate``); JPEGs are decoded with
``torchvision.io.decode_jpeg`` (nvJPEG on CUDA), other files arrive as BGR.
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.transforms import Compose, RandomApply, RandomFlip, RandomGrayscale
from mmengine.registry import DefaultScope
from mmselfsup.datasets.transforms import (ColorJitter, RandomGaussianBlur,
                                           RandomResizedCrop)
from mmselfsup.models.utils import SelfSupDataPreprocessor
from mmselfsup.registry import MODELS, TRANSFORMS

#: ITU-R 601 luma weights in RGB order (OpenCV's BGR2GRAY, mmcv's grey).
_LUMA = (0.299, 0.587, 0.114)


def _flatten(steps: Sequence) -> list:
    out = []
    for step in steps:
        out += _flatten(step.transforms) if type(step) is Compose else [step]
    return out


def parse_view(steps: Sequence) -> list:
    """The operations of a view pipeline: ``('crop', RandomResizedCrop)``
    then ``(name, prob, transform)``, name in ``jitter``, ``gray``, ``blur``,
    ``flip``; ValueError for a transform without a tensor version."""
    steps = _flatten(steps)
    if not steps or not isinstance(steps[0], RandomResizedCrop):
        raise ValueError('MultiViewGPUPreprocessor: every view must begin '
                         'with RandomResizedCrop')
    ops = [('crop', steps[0])]
    for step in steps[1:]:
        prob, inner = 1., step
        if isinstance(step, RandomApply):
            (inner, *rest) = _flatten(step.transforms.transforms)
            prob = step.prob
            if rest or not isinstance(inner, ColorJitter):
                raise ValueError('MultiViewGPUPreprocessor: RandomApply is '
                                 'supported around one ColorJitter only')
        if isinstance(inner, ColorJitter):
            ops.append(('jitter', prob, inner))
        elif isinstance(inner, RandomGrayscale) and inner.keep_channels:
            ops.append(('gray', inner.prob, inner))
        elif isinstance(inner, RandomGaussianBlur):
            ops.append(('blur', inner.prob, inner))
        elif (isinstance(inner, RandomFlip)
              and inner.direction == 'horizontal'):
            ops.append(('flip', inner.prob, inner))
        else:
            raise ValueError(
                f'MultiViewGPUPreprocessor: {type(inner).__name__} has no '
                'tensor version here (supported: RandomResizedCrop, '
                'ColorJitter, RandomGrayscale(keep_channels=True), '
                'RandomGaussianBlur, horizontal RandomFlip); use the CPU '
                'pipeline (DecodeOnceMultiView) for this config')
    return ops


def _gray(x: torch.Tensor, weights: Sequence[float] = _LUMA) -> torch.Tensor:
    w = x.new_tensor(weights) / sum(weights)
    return (x * w[:, None, None]).sum(1, keepdim=True)


def _uniform(bounds: Optional[Sequence[float]], n: int,
             device) -> Optional[torch.Tensor]:
    if bounds is None:
        return None
    lo, hi = bounds
    return lo + (hi - lo) * torch.rand(n, device=device)


def adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate the HSV hue of RGB images ``(N, 3, H, W)`` in [0, 255] by
    ``shift`` turns ``(N,)``."""
    maxc, argmax = x.max(1)
    delta = maxc - x.min(1).values
    r, g, b = x.unbind(1)
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    hue = torch.where(argmax == 0, ((g - b) / safe) % 6,
                      torch.where(argmax == 1, (b - r) / safe + 2,
                                  (r - g) / safe + 4))
    hue = (hue + 6 * shift[:, None, None]) % 6
    k = (x.new_tensor([5., 3., 1.])[:, None, None] + hue[:, None]) % 6
    weight = torch.minimum(k, 4 - k).clamp(0, 1)
    return maxc[:, None] - delta[:, None] * weight


def color_jitter(x: torch.Tensor, jitter: ColorJitter) -> torch.Tensor:
    """mmselfsup's ``ColorJitter`` on RGB ``(N, 3, H, W)`` in [0, 255],
    factors and order drawn per image."""
    n = x.shape[0]
    factors = [
        _uniform(bounds, n, x.device) for bounds in
        (jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue)
    ]
    order = torch.rand(n, 4, device=x.device).argsort(1)
    for slot in range(4):
        for op, f in enumerate(factors):
            chosen = (order[:, slot] == op).nonzero().flatten()
            if f is None or chosen.numel() == 0:
                continue
            y, f = x[chosen], f[chosen][:, None, None, None]
            if op == 0:
                y = y * f
            elif op == 1:
                y = y * f + _gray(y).mean((2, 3), keepdim=True) * (1 - f)
            elif op == 2:
                y = y * f + _gray(y) * (1 - f)
            else:
                y = adjust_hue(y, f.flatten())
            x = x.index_copy(0, chosen, y.clamp(0, 255))
    return x


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Gaussian blur of ``(N, C, H, W)`` with ``sigma`` ``(N,)``, +-3 sigma
    of the largest, edges replicated."""
    n, c, h, w = x.shape
    radius = max(1, math.ceil(3 * float(sigma.max())))
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (t[None] / sigma[:, None])**2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)
    y = F.pad(x.reshape(1, n * c, h, w), [radius] * 4, mode='replicate')
    y = F.conv2d(y, kernel[:, None, None, :], groups=n * c)
    y = F.conv2d(y, kernel[:, None, :, None], groups=n * c)
    return y.reshape(n, c, h, w)


@MODELS.register_module()
class MultiViewGPUPreprocessor(SelfSupDataPreprocessor):
    """``SelfSupDataPreprocessor`` that decodes the batch and makes its
    views first.

    Args:
        num_views (int | list[int]): Views of each pipeline, as
            ``MultiView``'s.
        transforms (list[list[dict]]): The view pipelines, as
            ``MultiView``'s (built in mmselfsup's scope).
        mean, std, bgr_to_rgb, **kwargs: As ``SelfSupDataPreprocessor``'s.
    """

    def __init__(self,
                 num_views: Union[int, List[int]],
                 transforms: List[list],
                 mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None,
                 bgr_to_rgb: bool = False,
                 **kwargs) -> None:
        super().__init__(
            mean=mean, std=std, bgr_to_rgb=bgr_to_rgb, **kwargs)
        self.num_views = ([num_views]
                          if isinstance(num_views, int) else list(num_views))
        if len(self.num_views) != len(transforms):
            raise ValueError('MultiViewGPUPreprocessor: num_views and '
                             'transforms differ in length')
        with DefaultScope.overwrite_default_scope('mmselfsup'):
            groups = [
                parse_view([
                    TRANSFORMS.build(t) if isinstance(t, dict) else t
                    for t in group
                ]) for group in transforms
            ]
        self.views = [g for g, n in zip(groups, self.num_views)
                      for _ in range(n)]

    def decode(self, inputs: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """RGB ``uint8`` ``(3, H, W)`` on the device from JPEG bytes (1-D,
        decoded together) or BGR images (3-D)."""
        from torchvision.io import ImageReadMode, decode_jpeg
        jpegs = [i for i, t in enumerate(inputs) if t.dim() == 1]
        images = [t.to(self._device).flip(0) if t.dim() != 1 else None
                  for t in inputs]
        if jpegs:
            decoded = decode_jpeg([inputs[i].cpu() for i in jpegs],
                                  mode=ImageReadMode.RGB,
                                  device=self._device)
            for i, img in zip(jpegs, decoded):
                images[i] = img
        return images

    def make_views(self, images: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """One ``(N, 3, h, w)`` float RGB batch in [0, 255] a view."""
        from torchvision.ops import roi_align
        crops: List[List[torch.Tensor]] = [[] for _ in self.views]
        for img in images:
            height, width = img.shape[-2:]
            stand_in = torch.empty(height, width, 0)  # get_params reads size
            by_size: dict = {}  # one roi_align a crop size and image
            for v, ops in enumerate(self.views):
                crop = ops[0][1]
                y1, x1, y2, x2 = crop.get_params(stand_in, crop.scale,
                                                 crop.ratio, crop.max_attempts)
                by_size.setdefault(tuple(crop.size), []).append(
                    (v, [0, x1, y1, x2 + 1, y2 + 1]))
            source = img[None].float()
            for size, boxes in by_size.items():
                out = roi_align(
                    source,
                    source.new_tensor([box for _, box in boxes]),
                    size,
                    sampling_ratio=0,
                    aligned=True)
                for (v, _), view in zip(boxes, out):
                    crops[v].append(view)
        views = []
        for ops, batch in zip(self.views, crops):
            x = torch.stack(batch)
            for name, prob, op in ops[1:]:
                x = self._augment(name, prob, op, x)
            views.append(x)
        return views

    @staticmethod
    def _augment(name: str, prob: float, op,
                 x: torch.Tensor) -> torch.Tensor:
        chosen = (torch.rand(x.shape[0], device=x.device) <
                  prob).nonzero().flatten()
        if chosen.numel() == 0:
            return x
        y = x[chosen]
        if name == 'flip':
            y = y.flip(-1)
        elif name == 'jitter':
            y = color_jitter(y, op)
        elif name == 'gray':
            y = _gray(y, tuple(op.channel_weights)[::-1]).expand_as(y)
        else:
            sigma = _uniform((op.sigma_min, op.sigma_max), y.shape[0],
                             y.device)
            y = gaussian_blur(y, sigma)
        return x.index_copy(0, chosen, y.contiguous())

    def forward(self,
                data: dict,
                training: bool = False) -> Tuple[List[torch.Tensor], list]:
        """Decode, augment and normalise a ``pseudo_collate``-d batch."""
        inputs = data['inputs']
        if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
            inputs = inputs[0]  # pseudo_collate: one view of N samples
        inputs = [t[0] if isinstance(t, (list, tuple)) else t for t in inputs]
        views = self.make_views(self.decode(inputs))
        if not self._channel_conversion:
            views = [v.flip(1) for v in views]  # the network sees BGR
        if self._enable_normalize:
            views = [(v - self.mean) / self.std for v in views]
        return views, self.cast_data(data['data_samples'])
