"""mmcv's hue jitter under numpy 2, as SwAV's ColorJitter calls it."""
import numpy as np
import pytest

from custom_modules.compat import numpy_hue


def reference_hue(img, factor):
    """numpy-1 semantics: uint8 shift wraps modulo 256."""
    import cv2
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)
    shift = int(factor * 255) % 256
    hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + shift) % 256).astype(
        np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)


@pytest.mark.parametrize('factor', [-0.5, -0.2, -0.01, 0.0, 0.13, 0.5])
@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_adjust_hue_negative_and_positive(factor, backend):
    import mmcv
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    out = mmcv.adjust_hue(img, factor, backend=backend)
    assert out.shape == img.shape and out.dtype == np.uint8
    if backend == 'cv2':
        assert np.array_equal(out, reference_hue(img, factor))


def test_patched_everywhere_it_is_imported():
    import mmcv
    from mmcv.image import photometric
    from mmselfsup.datasets.transforms import processing
    assert mmcv.adjust_hue is numpy_hue.adjust_hue
    assert photometric.adjust_hue is numpy_hue.adjust_hue
    assert processing.adjust_hue is numpy_hue.adjust_hue


def test_swav_color_jitter_with_negative_hue():
    """The SwAV pipeline's ColorJitter (hue 0.2) draws negative factors."""
    from mmengine.registry import init_default_scope
    from mmselfsup.registry import TRANSFORMS
    init_default_scope('mmselfsup')
    jitter = TRANSFORMS.build(
        dict(
            type='ColorJitter',
            brightness=0.8,
            contrast=0.8,
            saturation=0.8,
            hue=0.2))
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    hues = []
    for seed in range(40):
        import random
        random.seed(seed)
        np.random.seed(seed)
        hues.append(jitter.get_params(None, None, None, jitter.hue)[3])
        out = jitter.transform(dict(img=img.copy()))['img']
        assert out.shape == img.shape
    assert min(hues) < 0 < max(hues)
