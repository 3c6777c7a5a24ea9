"""mmcv's ``adjust_hue`` under numpy 2: the shift modulo 256, as numpy 1
wrapped it (bit-identical to mmcv under numpy 1).

Answers: mmcv 2.0.1 ``h += np.uint8(hue_factor * 255)``, which numpy >= 2
refuses for a negative factor, so ``ColorJitter(hue=...)`` crashes on about
half of its draws (mmcv issue #3137). Skipped when upstream handles it.
"""
import sys
from typing import Optional

import cv2
import numpy as np

_PATCHED_MODULES = ('mmcv', 'mmcv.image', 'mmcv.image.photometric',
                    'mmselfsup.datasets.transforms.processing',
                    'mmcls.datasets.transforms.processing')


def adjust_hue(img: np.ndarray,
               hue_factor: float,
               backend: Optional[str] = None) -> np.ndarray:
    """``mmcv.adjust_hue``: shift the hue of a BGR image.

    Args:
        img (ndarray): Image, 2 or 3 dimensions.
        hue_factor (float): Shift in [-0.5, 0.5]; 0 keeps the image.
        backend (str, optional): ``'cv2'`` or ``'pillow'``; None uses mmcv's
            ``imread_backend``. Defaults to None.

    Returns:
        ndarray: The hue-shifted image, same dtype as the input.
    """
    from mmcv.image import io as mmcv_io
    from PIL import Image
    if backend is None:
        backend = mmcv_io.imread_backend
    if backend not in ('cv2', 'pillow'):
        raise ValueError(f'backend: {backend} is not supported. '
                         "Supported backends are 'cv2', 'pillow'")
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor:{hue_factor} is not in [-0.5, 0.5].')
    if not (isinstance(img, np.ndarray) and img.ndim in (2, 3)):
        raise TypeError('img should be ndarray with dim=[2 or 3].')
    # int() truncates toward zero like the float->uint8 cast of numpy 1.
    shift = np.uint8(int(hue_factor * 255) % 256)
    if backend == 'pillow':
        assert img.dtype == np.uint8, 'Pillow backend only support uint8 type'
        pil_image = Image.fromarray(img[..., ::-1], mode='RGB')
        h, s, v = pil_image.convert('HSV').split()
        h = Image.fromarray(np.array(h, dtype=np.uint8) + shift, 'L')
        pil_image = Image.merge('HSV', (h, s, v)).convert('RGB')
        return np.array(pil_image, dtype=img.dtype)[..., ::-1]
    dtype = img.dtype
    hsv_img = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    h, s, v = cv2.split(hsv_img)
    hsv_img = cv2.merge([h.astype(np.uint8) + shift, s, v])
    return cv2.cvtColor(hsv_img, cv2.COLOR_HSV2BGR_FULL).astype(dtype)


def _upstream_fixed() -> bool:
    from mmcv.image import photometric
    if photometric.adjust_hue is adjust_hue:
        return True
    try:
        photometric.adjust_hue(
            np.zeros((1, 1, 3), np.uint8), -0.2, backend='cv2')
    except OverflowError:
        return False
    return True


def rebind_in_loaded_modules(name: str, function) -> None:
    """Rebind ``name`` in mmcv and in the transforms that imported it."""
    for module_name in _PATCHED_MODULES:
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, name):
            setattr(module, name, function)


def install() -> bool:
    """Replace mmcv's ``adjust_hue`` when it crashes on negative factors."""
    if _upstream_fixed():
        return False
    rebind_in_loaded_modules('adjust_hue', adjust_hue)
    return True
