"""JigsawPatches (custom_modules/datasets/jigsaw.py): PyContrast's
``JigsawCrop`` grid, patch size and jitter, returned as a mosaic."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope


def build(**kwargs):
    from mmselfsup.registry import TRANSFORMS
    init_default_scope('mmselfsup')
    return TRANSFORMS.build(dict(type='JigsawPatches', **kwargs))


def coordinates(h, w):
    """An image whose pixels hold their own row (channel 0) and column
    (channel 1), both < 256."""
    rows, cols = np.mgrid[:h, :w]
    return np.stack([rows, cols, np.zeros_like(rows)], -1).astype(np.uint8)


def patch_origins(mosaic, num_grid, size):
    """(row, column) in the source of each mosaic tile's first pixel, after
    checking that every tile is one contiguous square of the source."""
    origins = []
    for i in range(num_grid):
        for j in range(num_grid):
            tile = mosaic[i * size:(i + 1) * size, j * size:(j + 1) * size]
            y, x = int(tile[0, 0, 0]), int(tile[0, 0, 1])
            assert np.array_equal(tile[:, 0, 0], y + np.arange(size))
            assert np.array_equal(tile[0, :, 1], x + np.arange(size))
            assert (tile[..., 0] == tile[:, :1, 0]).all()
            origins.append((i, j, y, x))
    return origins


def test_pycontrast_grid_patch_and_jitter():
    """255-px crop, 3x3 cells of int(255 / 3) = 85 px, 64-px patches at
    offsets 0-21 drawn per patch and per axis."""
    transform = build()
    assert (transform.num_grid, transform.patch_size) == (3, 64)
    img = coordinates(255, 255)
    np.random.seed(0)
    offsets = set()
    for _ in range(50):
        results = transform(dict(img=img.copy(), img_shape=(255, 255)))
        mosaic = results['img']
        assert mosaic.shape == (192, 192, 3) and mosaic.dtype == np.uint8
        assert results['img_shape'] == (192, 192)
        origins = patch_origins(mosaic, 3, 64)
        for i, j, y, x in origins:
            assert 0 <= y - 85 * i <= 21 and 0 <= x - 85 * j <= 21
            offsets.update([y - 85 * i, x - 85 * j])
        # not one offset shared by all patches
        assert len({(y - 85 * i, x - 85 * j) for i, j, y, x in origins}) > 1
    assert offsets == set(range(22))  # the whole jitter range, both ends


def test_cells_of_a_non_square_image():
    img = coordinates(100, 130)  # cells of 33 x 43 px
    np.random.seed(1)
    for _ in range(20):
        mosaic = build(patch_size=30)(dict(img=img))['img']
        assert mosaic.shape == (90, 90, 3)
        for i, j, y, x in patch_origins(mosaic, 3, 30):
            assert 0 <= y - 33 * i <= 3 and 0 <= x - 43 * j <= 13


def test_other_grids_and_channels():
    img = np.random.default_rng(0).integers(0, 256, (40, 40), np.uint8)
    out = build(num_grid=2, patch_size=20)(dict(img=img))['img']
    assert out.shape == (40, 40)  # no jitter left: the image itself
    np.testing.assert_array_equal(out, img)


def test_too_small_image_names_the_fix():
    with pytest.raises(ValueError, match=r'60x50 image .* at least 192 px'):
        build()(dict(img=np.zeros((50, 60, 3), np.uint8)))
    with pytest.raises(ValueError, match='positive'):
        build(patch_size=0)
