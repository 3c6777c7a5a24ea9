"""SwAV's and MoCo's colour distortion, blur and flip on ``uint8`` images.

Each class subclasses the upstream transform and keeps its arguments and
random draws (a seed draws the same values); only the pixel work is done
with lookup tables and single OpenCV calls (docs/benchmarks.md).
"""
import cv2
import numpy as np
from mmcv.transforms import RandomFlip, RandomGrayscale
from mmselfsup.datasets.transforms import ColorJitter, RandomGaussianBlur
from mmselfsup.registry import TRANSFORMS

from ..compat.numpy_hue import adjust_hue

_LEVELS = np.arange(256, dtype=np.float32)


def _lut(img: np.ndarray, scale: float, offset: float = 0.) -> np.ndarray:
    """``clip(img * scale + offset)`` truncated to ``uint8``, by a table."""
    table = np.clip(_LEVELS * scale + offset, 0, 255).astype(np.uint8)
    return cv2.LUT(img, table)


@TRANSFORMS.register_module()
class ColorJitterU8(ColorJitter):
    """mmselfsup's ``ColorJitter`` (same arguments, same draws) on a
    ``uint8`` BGR image; ``backend`` is ignored."""

    def transform(self, results: dict) -> dict:
        """Jitter ``results['img']`` in the drawn order."""
        b, c, s, h, order = self.get_params(self.brightness, self.contrast,
                                            self.saturation, self.hue)
        img = np.asarray(results['img'], np.uint8)
        for fn_id in order:
            if fn_id == 0 and b is not None:
                img = _lut(img, b)
            elif fn_id == 1 and c is not None:
                gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
                mean = round(cv2.sumElems(gray)[0] / gray.size)
                img = _lut(img, c, mean * (1 - c))
            elif fn_id == 2 and s is not None:
                gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
                img = cv2.addWeighted(img, s,
                                      cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR),
                                      1 - s, 0)
            elif fn_id == 3 and h is not None:
                img = adjust_hue(img, h, backend='cv2')
        results['img'] = img
        return results


@TRANSFORMS.register_module()
class RandomGrayscaleU8(RandomGrayscale):
    """mmcv's ``RandomGrayscale`` (same arguments, same draw) on a ``uint8``
    BGR image, with one ``cv2.transform``."""

    def transform(self, results: dict) -> dict:
        """Grey ``results['img']`` with probability ``prob``."""
        img = results['img']
        if self.color_format == 'hsv' or img.ndim != 3 or img.shape[2] != 3:
            return super().transform(results)
        if self._random_prob() < self.prob:
            weights = np.asarray(self.channel_weights, np.float32)
            gray = cv2.transform(img, (weights / weights.sum())[None])
            results['img'] = cv2.cvtColor(
                gray, cv2.COLOR_GRAY2BGR) if self.keep_channels else gray
        return results


@TRANSFORMS.register_module()
class RandomGaussianBlurU8(RandomGaussianBlur):
    """mmselfsup's ``RandomGaussianBlur`` (same arguments, same draws) with
    ``cv2.GaussianBlur``."""

    def transform(self, results: dict) -> dict:
        """Blur ``results['img']`` with probability ``prob``."""
        if np.random.rand() > self.prob:
            return results
        sigma = np.random.uniform(self.sigma_min, self.sigma_max)
        results['img'] = cv2.GaussianBlur(
            np.asarray(results['img'], np.uint8), (0, 0),
            sigma,
            borderType=cv2.BORDER_REPLICATE)
        return results


@TRANSFORMS.register_module()
class RandomFlipU8(RandomFlip):
    """mmcv's ``RandomFlip`` (same arguments, same draw) for images alone,
    with ``cv2.flip``."""

    _CODES = dict(horizontal=1, vertical=0, diagonal=-1)

    def _flip(self, results: dict) -> None:
        if any(results.get(key) is not None
               for key in ('gt_bboxes', 'gt_keypoints', 'gt_seg_map')):
            return super()._flip(results)
        results['img'] = cv2.flip(results['img'],
                                  self._CODES[results['flip_direction']])
