"""``JigsawPatches``: the 3x3 jittered patches of a crop as one mosaic, the
jigsaw (PIRL) view of ``InfoMinJigsawMoCo`` (configs/infomin/README.md).

A mosaic passes through ``PackSelfSupInputs`` and the data preprocessor like
any view; the model cuts it back into patches and shuffles them.
"""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmselfsup.registry import TRANSFORMS


@TRANSFORMS.register_module()
class JigsawPatches(BaseTransform):
    """Cut an image into ``num_grid x num_grid`` cells and take a
    ``patch_size`` square from each, at a uniform random offset per patch
    and axis (PyContrast's ``JigsawCrop``); return them as a mosaic.

    Modified Keys: img (``(num_grid * patch_size,) * 2 + (C,)``, patch
    ``(i, j)`` at rows ``i * patch_size``, columns ``j * patch_size``),
    img_shape.

    Args:
        num_grid (int): Cells per side. Defaults to 3.
        patch_size (int): Side of a patch in pixels. Defaults to 64.
    """

    def __init__(self, num_grid: int = 3, patch_size: int = 64) -> None:
        if num_grid < 1 or patch_size < 1:
            raise ValueError('num_grid and patch_size must be positive, got '
                             f'{num_grid} and {patch_size}')
        self.num_grid = num_grid
        self.patch_size = patch_size

    def transform(self, results: dict) -> Optional[dict]:
        """Replace ``results['img']`` by the mosaic of its patches."""
        img = results['img']
        n, size = self.num_grid, self.patch_size
        cell_h, cell_w = img.shape[0] // n, img.shape[1] // n
        if min(cell_h, cell_w) < size:
            raise ValueError(
                f'JigsawPatches: a {img.shape[1]}x{img.shape[0]} image has '
                f'{cell_w}x{cell_h}-px cells, smaller than patch_size={size}; '
                f'crop or resize it to at least {n * size} px per side first '
                '(e.g. RandomResizedCrop)')
        dy = np.random.randint(0, cell_h - size + 1, n * n)
        dx = np.random.randint(0, cell_w - size + 1, n * n)
        mosaic = np.empty((n * size, n * size) + img.shape[2:], img.dtype)
        for k in range(n * n):
            i, j = divmod(k, n)
            y, x = i * cell_h + dy[k], j * cell_w + dx[k]
            mosaic[i * size:(i + 1) * size, j * size:(j + 1) * size] = \
                img[y:y + size, x:x + size]
        results['img'] = mosaic
        results['img_shape'] = mosaic.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_grid={self.num_grid}, '
                f'patch_size={self.patch_size})')
