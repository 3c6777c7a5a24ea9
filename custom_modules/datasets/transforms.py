"""``LoadImageFromFileOrSkip``: image loading that skips unreadable files,
and ``PackImageBytes``, which packs a JPEG left undecoded for the device.

An unreadable file is logged, counted in shared memory (so the main process
sees what every worker skipped; ``SkippedImagesReportHook`` reports it) and
None is returned, on which ``BaseDataset`` draws another index.
"""
import io
import logging
import multiprocessing
from typing import Any, List, Optional, Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmengine.logging import print_log
from mmselfsup.datasets.transforms import PackSelfSupInputs
from mmselfsup.registry import TRANSFORMS
from PIL import Image, ImageOps

_JPEG_SOI = b'\xff\xd8\xff'
_SIXTEEN_BIT_MODES = ('I;16', 'I;16L', 'I;16B', 'I;16N', 'I')
_EXIF_ORIENTATION = 0x0112


def decode_image_bgr(content: bytes) -> np.ndarray:
    """Decode image bytes (any Pillow format) to ``(H, W, 3)`` ``uint8`` BGR
    as ``mmcv.imfrombytes(flag='color')`` does, but with Pillow, which
    raises (OSError, SyntaxError, ValueError) on truncated files."""
    with Image.open(io.BytesIO(content)) as img:
        img.load()  # decode now: raises on truncated data
        # exif_transpose copies the image even when there is nothing to do
        if img.getexif().get(_EXIF_ORIENTATION, 1) != 1:
            img = ImageOps.exif_transpose(img)
        if img.mode in _SIXTEEN_BIT_MODES or img.mode == 'F':
            arr = np.asarray(img)
            if img.mode != 'F':
                arr = arr.astype(np.int64) >> 8  # keep the high byte
            gray = np.clip(arr, 0, 255).astype(np.uint8)
            return np.ascontiguousarray(np.repeat(gray[..., None], 3, -1))
        if img.mode != 'RGB':
            img = img.convert('RGB')
        rgb = np.asarray(img, dtype=np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)  # faster than [..., ::-1]


def jpeg_size(content: bytes) -> Optional[Tuple[int, int]]:
    """``(height, width)`` from the header of a JPEG that libjpeg decodes as
    :func:`decode_image_bgr` does (YCbCr or grey, no EXIF rotation); None
    for anything else."""
    if not content.startswith(_JPEG_SOI):
        return None
    import simplejpeg
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(content)
        if colorspace not in ('YCbCr', 'Gray'):
            return None
        with Image.open(io.BytesIO(content)) as img:
            if img.getexif().get(_EXIF_ORIENTATION, 1) != 1:
                return None
    except Exception:  # noqa: B902  the full decode reports the problem
        return None
    return height, width


class SkipsUnreadable:
    """Skip counter in shared memory, created with the pipeline so that
    dataloader workers' increments reach the main process."""

    def __init__(self) -> None:
        self._num_skipped = multiprocessing.Value('q', 0)

    @property
    def num_skipped(self) -> int:
        """int: Images skipped so far in this process and its workers."""
        return int(self._num_skipped.value)

    def skip(self, filename: str, error: Exception) -> None:
        """Log an unreadable file and count it; the caller returns None."""
        with self._num_skipped.get_lock():
            self._num_skipped.value += 1
        print_log(
            f'skipping unreadable image {filename}: '
            f'{type(error).__name__}: {error}',
            logger='current',
            level=logging.WARNING)


@TRANSFORMS.register_module()
class LoadImageFromFileOrSkip(SkipsUnreadable, BaseTransform):
    """mmcv's ``LoadImageFromFile`` (``uint8`` BGR) that returns None for
    an unreadable file.

    Required Keys: img_path. Added Keys: img (or img_bytes), img_shape,
    ori_shape.

    Args:
        to_float32 (bool): Return a ``float32`` image. Defaults to False.
        backend_args (dict, optional): Arguments of
            :func:`mmengine.fileio.get`. Defaults to None.
        defer_jpeg (bool): Leave plain JPEGs (:func:`jpeg_size`) undecoded,
            as ``img_bytes``, for ``DecodeOnceMultiView`` or
            ``PackImageBytes``. Defaults to False.
    """

    def __init__(self,
                 to_float32: bool = False,
                 backend_args: Optional[dict] = None,
                 defer_jpeg: bool = False) -> None:
        super().__init__()
        if to_float32 and defer_jpeg:
            raise ValueError('LoadImageFromFileOrSkip: defer_jpeg leaves '
                             'JPEGs to DecodeOnceMultiView, which makes '
                             'uint8 crops; drop to_float32')
        if defer_jpeg:
            try:
                import simplejpeg  # noqa: F401  decodes deferred JPEGs
            except ImportError as e:
                raise ImportError(
                    'LoadImageFromFileOrSkip(defer_jpeg=True) needs '
                    'simplejpeg (pip install -r requirements.txt)') from e
        self.to_float32 = to_float32
        self.backend_args = dict(backend_args) if backend_args else None
        self.defer_jpeg = defer_jpeg

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']``; None when it cannot be read."""
        filename = results['img_path']
        try:
            content = fileio.get(filename, backend_args=self.backend_args)
            size = jpeg_size(content) if self.defer_jpeg else None
            img = decode_image_bgr(content) if size is None else None
        except Exception as e:  # noqa: B902  any decoder error means skip
            self.skip(filename, e)
            return None
        if size is not None:
            results['img_bytes'] = content
            results['img_shape'] = results['ori_shape'] = size
            return results
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f'backend_args={self.backend_args}, '
                f'defer_jpeg={self.defer_jpeg})')


@TRANSFORMS.register_module()
class PackImageBytes(PackSelfSupInputs):
    """``PackSelfSupInputs`` whose ``inputs`` is ``[tensor]``: a deferred
    JPEG's bytes (1-D ``uint8``) for ``MultiViewGPUPreprocessor``, else the
    ``(3, H, W)`` BGR image."""

    def transform(self, results: dict) -> dict:
        """Pack ``img_bytes`` (or ``img``) and the meta keys."""
        content = results.pop('img_bytes', None)
        packed = super().transform(results)
        if content is not None:
            packed['inputs'] = [
                torch.frombuffer(bytearray(content), dtype=torch.uint8)
            ]
        return packed


def find_skipping_loaders(dataset: Any) -> List[SkipsUnreadable]:
    """The :class:`SkipsUnreadable` transforms of a dataset, each once,
    through wrappers (``dataset``/``datasets``), pipelines and nested
    ``transforms``."""
    found: List[SkipsUnreadable] = []
    seen = set()

    def visit(obj: Any, depth: int) -> None:
        if obj is None or id(obj) in seen or depth > 8:
            return
        seen.add(id(obj))
        if isinstance(obj, SkipsUnreadable):
            found.append(obj)
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                visit(item, depth + 1)
        else:
            for attr in ('dataset', 'datasets', 'pipeline', 'transforms'):
                child = getattr(obj, attr, None)
                if child is not None and not isinstance(child, (str, dict)):
                    visit(child, depth + 1)

    visit(dataset, 0)
    return found
