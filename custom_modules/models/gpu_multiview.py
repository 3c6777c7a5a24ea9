"""``MultiViewGPUPreprocessor``: decode JPEG bytes and cut the augmented
views on the model's device, for a pipeline that only reads files.

With ``LoadImageFromFileOrSkip(defer_jpeg=True)`` and ``PackImageBytes`` in
the pipeline and ``pseudo_collate`` in the loader, a batch is a list of
JPEG byte strings (and decoded BGR images for other files). This
preprocessor decodes the JPEGs as one batch with nvJPEG
(``torchvision.io.decode_jpeg(device='cuda')``; libjpeg on the CPU), then,
for every view of every image, runs the view's transforms on tensors:

- ``RandomResizedCrop`` (first in every view): the box is drawn by
  mmselfsup's own ``get_params`` on the original size; the crop is
  resampled by ``roi_align`` (bilinear samples averaged over each output
  pixel, so downscaling is antialiased);
- ``ColorJitter`` (bare or in ``RandomApply``): per-image factors from the
  same ranges and a per-image random order; brightness, contrast (against
  the mean grey), saturation (against the grey image), hue (HSV rotation);
- ``RandomGrayscale`` with its channel weights;
- ``RandomGaussianBlur``: per-image sigma, separable kernel of +-3 sigma,
  edges replicated;
- ``RandomFlip`` (horizontal).

The views' configs are those of the CPU pipeline's ``MultiView`` (the
``*U8`` variants too), so one config states the augmentation for both
paths. Probabilities are drawn per image and view with torch's generator;
values stay float (no ``uint8`` rounding between operations). Then the
views are normalised as ``SelfSupDataPreprocessor`` does; ``bgr_to_rgb``
keeps its meaning (True: the network sees RGB).
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
        if type(step) is Compose:
            out += _flatten(step.transforms)
        else:
            out.append(step)
    return out


def parse_view(steps: Sequence) -> list:
    """The operations of a view pipeline: ``('crop', RandomResizedCrop)``
    then ``(name, prob, transform)`` with name ``jitter``, ``gray``,
    ``blur`` or ``flip``.

    Raises:
        ValueError: The view does not begin with ``RandomResizedCrop`` or
            holds a transform that has no tensor version here.
    """
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
        elif isinstance(inner, RandomFlip) and inner.direction == \
                'horizontal':
            ops.append(('flip', inner.prob, inner))
        else:
            raise ValueError(
                f'MultiViewGPUPreprocessor: {type(inner).__name__} has no '
                'tensor version here (supported: RandomResizedCrop, '
                'ColorJitter, RandomGrayscale(keep_channels=True), '
                'RandomGaussianBlur, '
                'horizontal RandomFlip); use the CPU pipeline '
                '(DecodeOnceMultiView) for this config')
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
    """mmselfsup's ``ColorJitter`` on RGB images ``(N, 3, H, W)`` in
    [0, 255]: factors from its ranges and a random order, per image."""
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
    """Blur images ``(N, C, H, W)`` with a Gaussian of ``sigma`` ``(N,)``
    each, +-3 sigma (of the largest), edges replicated."""
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
    """Decode a batch of JPEG bytes and make its views on the model's
    device (module docstring).

    Args:
        num_views (int | list[int]): Views of each pipeline, as
            ``MultiView``'s.
        transforms (list[list[dict]]): The view pipelines, as
            ``MultiView``'s (built in mmselfsup's scope).
        mean, std, bgr_to_rgb: As ``SelfSupDataPreprocessor``'s.
        **kwargs: Other arguments of ``SelfSupDataPreprocessor``.
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
        self.num_views = [num_views] if isinstance(num_views,
                                                   int) else list(num_views)
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
        self.views = [
            g for g, n in zip(groups, self.num_views) for _ in range(n)
        ]

    def decode(self, inputs: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """RGB ``uint8`` images ``(3, H, W)`` on the model's device: 1-D
        tensors are JPEG files (decoded together), 3-D ones BGR images."""
        from torchvision.io import ImageReadMode, decode_jpeg
        device = self._device
        jpegs = [i for i, t in enumerate(inputs) if t.dim() == 1]
        images = [
            None if t.dim() == 1 else t.to(device).flip(0) for t in inputs
        ]
        if jpegs:
            decoded = decode_jpeg([inputs[i].cpu() for i in jpegs],
                                  mode=ImageReadMode.RGB,
                                  device=device)
            for i, img in zip(jpegs, decoded):
                images[i] = img
        return images

    def make_views(self, images: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """The augmented views, one ``(N, 3, h, w)`` float RGB batch in
        [0, 255] a view."""
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
