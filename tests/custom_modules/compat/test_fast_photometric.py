import numpy as np
import pytest

import custom_modules  # noqa: F401  installs the patches
from custom_modules.compat import fast_photometric as fp


def test_installed_where_colorjitter_looks_it_up():
    import mmcv
    from mmselfsup.datasets.transforms import processing
    assert mmcv.adjust_contrast is fp.adjust_contrast
    assert processing.adjust_contrast is fp.adjust_contrast
    assert fp.upstream() is not fp.adjust_contrast


def test_identical_to_mmcv_bit_for_bit():
    rng = np.random.default_rng(0)
    for i in range(400):
        h, w = (int(x) for x in rng.integers(1, 60, 2))
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        if i % 3 == 0:  # low-contrast images, means away from 128
            img = (img // 4 + rng.integers(0, 190)).astype(np.uint8)
        factor = float(rng.uniform(0, 2.5))
        expected = fp.upstream()(img, factor, 'cv2')
        got = fp.adjust_contrast(img, factor, 'cv2')
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize('img,backend', [
    (np.full((4, 5, 3), 100.5, np.float32), 'cv2'),
    (np.arange(60, dtype=np.uint8).reshape(4, 5, 3), 'pillow'),
])
def test_other_inputs_go_upstream(img, backend):
    np.testing.assert_array_equal(
        fp.adjust_contrast(img, 1.7, backend),
        fp.upstream()(img, 1.7, backend))


def test_colorjitter_still_runs():
    from mmselfsup.datasets.transforms import ColorJitter
    img = np.random.default_rng(1).integers(0, 256, (32, 32, 3), np.uint8)
    out = ColorJitter(0.8, 0.8, 0.8, 0.2)(dict(img=img))['img']
    assert out.shape == img.shape and out.dtype == np.uint8
