"""``LoadImageFromFileOrSkip``: image loading that skips unreadable files
instead of stopping a run.

A pool of half a million crawled images always holds a few broken files.
Pillow, unlike OpenCV, refuses a truncated JPEG; a file that cannot be read
is logged, counted in shared memory (so the main process sees what every
dataloader worker skipped; ``SkippedImagesReportHook`` reports the sum) and
``None`` is returned, on which mmengine's ``BaseDataset`` draws another
index.
"""
import io
import logging
import multiprocessing
from typing import Any, List, Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmengine.logging import print_log
from mmselfsup.registry import TRANSFORMS
from PIL import Image, ImageOps

_SIXTEEN_BIT_MODES = ('I;16', 'I;16L', 'I;16B', 'I;16N', 'I')
_EXIF_ORIENTATION = 0x0112


def decode_image_bgr(content: bytes) -> np.ndarray:
    """Decode an image file's bytes to a ``(H, W, 3)`` ``uint8`` BGR array,
    as ``mmcv.imfrombytes(flag='color')`` does: grayscale replicated,
    16-bit samples' high byte kept, alpha dropped, palette and CMYK
    converted, EXIF orientation applied.

    Args:
        content (bytes): The file's bytes (PNG, JPEG or any Pillow format).

    Returns:
        np.ndarray: The image in BGR order.

    Raises:
        OSError: Not an image, or truncated.
        SyntaxError, ValueError: Pillow found a corrupt stream.
    """
    with Image.open(io.BytesIO(content)) as img:
        img.load()  # decodes everything now: raises on truncated data
        # exif_transpose copies the image even when there is nothing to do
        if img.getexif().get(_EXIF_ORIENTATION, 1) != 1:
            img = ImageOps.exif_transpose(img)
        if img.mode in _SIXTEEN_BIT_MODES:
            arr = np.asarray(img).astype(np.int64)
            gray = np.clip(arr >> 8, 0, 255).astype(np.uint8)
            return np.ascontiguousarray(np.repeat(gray[..., None], 3, -1))
        if img.mode == 'F':
            gray = np.clip(np.asarray(img), 0, 255).astype(np.uint8)
            return np.ascontiguousarray(np.repeat(gray[..., None], 3, -1))
        if img.mode != 'RGB':
            img = img.convert('RGB')
        rgb = np.asarray(img, dtype=np.uint8)
    # one pass, about 3x faster than a contiguous copy of rgb[..., ::-1]
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


@TRANSFORMS.register_module()
class LoadImageFromFileOrSkip(BaseTransform):
    """Load an image as ``uint8`` BGR; skip (return None) if unreadable.

    Drop-in replacement of mmcv's ``LoadImageFromFile`` for unlabeled data.
    Unreadable, truncated and vanished files are logged with their path and
    counted in :attr:`num_skipped`, a counter shared with the dataloader
    workers (created with the pipeline, before the workers start).

    Required Keys:

    - img_path

    Added Keys:

    - img
    - img_shape
    - ori_shape

    Args:
        to_float32 (bool): Return a ``float32`` image. Defaults to False.
        backend_args (dict, optional): File backend arguments of
            :func:`mmengine.fileio.get`. Defaults to None.
    """

    def __init__(self,
                 to_float32: bool = False,
                 backend_args: Optional[dict] = None) -> None:
        self.to_float32 = to_float32
        self.backend_args = dict(backend_args) if backend_args else None
        # Shared memory: increments in forked or spawned dataloader workers
        # are seen by the main process.
        self._num_skipped = multiprocessing.Value('q', 0)

    @property
    def num_skipped(self) -> int:
        """int: Images skipped so far in this process and its workers."""
        return int(self._num_skipped.value)

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']``; None when it cannot be read."""
        filename = results['img_path']
        try:
            content = fileio.get(filename, backend_args=self.backend_args)
            img = decode_image_bgr(content)
        except Exception as e:  # noqa: B902  any decoder error means skip
            with self._num_skipped.get_lock():
                self._num_skipped.value += 1
            print_log(
                f'skipping unreadable image {filename}: '
                f'{type(e).__name__}: {e}',
                logger='current',
                level=logging.WARNING)
            return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f'backend_args={self.backend_args})')


def find_skipping_loaders(dataset: Any) -> List[LoadImageFromFileOrSkip]:
    """The :class:`LoadImageFromFileOrSkip` transforms of a dataset, each
    once, through dataset wrappers (``dataset`` / ``datasets``), pipelines
    and nested ``transforms`` lists.

    Args:
        dataset: A dataset, possibly wrapped.

    Returns:
        list[LoadImageFromFileOrSkip]: The loaders.
    """
    found: List[LoadImageFromFileOrSkip] = []
    seen = set()

    def visit(obj: Any, depth: int) -> None:
        if obj is None or id(obj) in seen or depth > 8:
            return
        seen.add(id(obj))
        if isinstance(obj, LoadImageFromFileOrSkip):
            found.append(obj)
            return
        if isinstance(obj, (list, tuple)):
            for item in obj:
                visit(item, depth + 1)
            return
        for attr in ('dataset', 'datasets', 'pipeline', 'transforms'):
            child = getattr(obj, attr, None)
            if child is not None and not isinstance(child, (str, dict)):
                visit(child, depth + 1)

    visit(dataset, 0)
    return found
