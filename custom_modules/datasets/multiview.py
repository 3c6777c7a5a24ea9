"""``DecodeOnceMultiView``: mmselfsup's ``MultiView`` for views that begin
with a ``RandomResizedCrop``, which draws every view's crop box first and
decodes a JPEG once, at the size those boxes need.

SwAV cuts 2 + 6 crops from an image, MoCo 2 (+ 1 jigsaw view); a
full-resolution decode is mostly thrown away by the crops. For a JPEG that
``LoadImageFromFileOrSkip(defer_jpeg=True)`` left undecoded:

1. each view's crop draws its box on the original size with its own
   ``get_params`` (the same scales, ratios and attempts);
2. the file is decoded once, with libjpeg's DCT-domain scaling
   (simplejpeg), at the largest reduction of 1/2, 1/4 and 1/8 that leaves
   every box at or above its output size (:func:`jpeg_reduction`);
3. each box, mapped onto the decoded image with sub-pixel precision, is
   resized to its output size (the crop's ``interpolation`` and
   ``backend``);
4. each view's other transforms run as in ``MultiView``.

The crops' distribution is unchanged (the boxes are drawn before any view
runs, so a seed gives other samples than ``MultiView`` does); the pixels
differ from crops of a full decode by the IDCT's downscaling (bounded in the
tests). A decoded image (PNG, any non-deferred file) goes through
``MultiView`` itself, bit for bit. A JPEG that libjpeg refuses in strict mode
is decoded by :func:`~.transforms.decode_image_bgr` in full, and skipped
(counted, None returned) only if that fails too.
"""
import copy
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.image.geometric import cv2_interp_codes, pillow_interp_codes
from mmcv.transforms import Compose
from mmselfsup.datasets.transforms import MultiView, RandomResizedCrop
from mmselfsup.registry import TRANSFORMS
from PIL import Image

from .transforms import SkipsUnreadable, decode_image_bgr

#: libjpeg's power-of-two DCT scalings, largest reduction first (the others,
#: 3/8, 5/8, ..., decode slower than the full size).
REDUCTIONS = (8, 4, 2)


def jpeg_reduction(size: Tuple[int, int], crops: Sequence[tuple]) -> int:
    """The largest libjpeg reduction that keeps every crop box at or above
    its output size.

    Args:
        size (tuple[int, int]): ``(height, width)`` of the image.
        crops (Sequence): ``((box_h, box_w), (out_h, out_w))`` per crop.

    Returns:
        int: 8, 4, 2 or 1 (decode at ``1 / reduction``).
    """
    height, width = size
    for r in REDUCTIONS:
        # libjpeg rounds a scaled dimension up
        fy, fx = -(-height // r) / height, -(-width // r) / width
        if all(bh * fy >= oh and bw * fx >= ow
               for (bh, bw), (oh, ow) in crops):
            return r
    return 1


def decode_jpeg_bgr(content: bytes, size: Tuple[int, int],
                    reduction: int) -> np.ndarray:
    """Decode a JPEG at ``1 / reduction`` of ``size`` to ``uint8`` BGR
    (libjpeg-turbo's accurate IDCT and upsampling: at reduction 1 the same
    pixels as :func:`~.transforms.decode_image_bgr`).

    Raises:
        ValueError: libjpeg found the file corrupt or truncated.
    """
    import simplejpeg
    height, width = size
    return simplejpeg.decode_jpeg(
        content,
        colorspace='BGR',
        min_height=-(-height // reduction),
        min_width=-(-width // reduction))


def resize_box(img: Union[np.ndarray, Image.Image],
               box: Tuple[float, float, float, float], size: Tuple[int, int],
               interpolation: str) -> np.ndarray:
    """Resize the region ``box`` (x1, y1, x2, y2, exclusive, in pixels) of
    an image to ``size`` ``(h, w)``: a Pillow image (mmcv's ``'pillow'``
    backend) is resampled from the sub-pixel box itself, an array (the
    ``'cv2'`` backend) from the box rounded to whole pixels."""
    out_h, out_w = size
    if isinstance(img, Image.Image):
        return np.asarray(
            img.resize((out_w, out_h),
                       pillow_interp_codes[interpolation],
                       box=box))
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    return cv2.resize(
        img[y1:max(y2, y1 + 1), x1:max(x2, x1 + 1)], (out_w, out_h),
        interpolation=cv2_interp_codes[interpolation])


@TRANSFORMS.register_module()
class DecodeOnceMultiView(MultiView, SkipsUnreadable):
    """``MultiView`` that crops a deferred JPEG from one scaled decode.

    Every view pipeline must begin with mmselfsup's ``RandomResizedCrop``.
    Decoded images (``img``) go through ``MultiView`` unchanged; deferred
    JPEGs (``img_bytes``, from ``LoadImageFromFileOrSkip(defer_jpeg=True)``)
    take the path of the module docstring.

    Required Keys:

    - img or img_bytes
    - ori_shape (with img_bytes)

    Modified Keys:

    - img: the list of views
    - img_bytes: removed

    Args:
        transforms (list[list[dict | callable]]): The view pipelines, as
            ``MultiView``'s.
        num_views (int | list[int]): Views of each pipeline.
    """

    def __init__(self, transforms: List[list],
                 num_views: Union[int, List[int]]) -> None:
        MultiView.__init__(self, transforms, num_views)
        SkipsUnreadable.__init__(self)
        views = []
        for pipeline, number in zip(self.pipelines, self.num_views):
            steps = pipeline.transforms
            if not steps or not isinstance(steps[0], RandomResizedCrop):
                raise TypeError(
                    'DecodeOnceMultiView: every view pipeline must begin '
                    'with RandomResizedCrop (the box it draws sets the '
                    f'decode size); this one begins with '
                    f'{type(steps[0]).__name__ if steps else "nothing"}. '
                    'Use MultiView for other views.')
            views += [(steps[0], Compose(steps[1:]))] * number
        self.views = views

    def transform(self, results: dict) -> Optional[dict]:
        """The views of ``results['img']``, or of the deferred JPEG."""
        if 'img_bytes' not in results:
            return super().transform(results)
        content = results.pop('img_bytes')
        height, width = results['ori_shape']
        # get_params reads the image's size only
        stand_in = np.empty((height, width, 0), np.uint8)
        boxes = [
            crop.get_params(stand_in, crop.scale, crop.ratio,
                            crop.max_attempts) for crop, _ in self.views
        ]
        reduction = jpeg_reduction(
            (height, width),
            [((y2 - y1 + 1, x2 - x1 + 1), tuple(crop.size))
             for (y1, x1, y2, x2), (crop, _) in zip(boxes, self.views)])
        try:
            img = decode_jpeg_bgr(content, (height, width), reduction)
        except ValueError:  # strict libjpeg: let Pillow judge the file
            try:
                img = decode_image_bgr(content)
            except Exception as e:  # noqa: B902  any decoder error: skip
                self.skip(results['img_path'], e)
                return None
        fy, fx = img.shape[0] / height, img.shape[1] / width
        sources = dict(cv2=img)
        if any(crop.backend == 'pillow' for crop, _ in self.views):
            sources['pillow'] = Image.fromarray(img)  # one copy an image
        views = []
        for (y1, x1, y2, x2), (crop, rest) in zip(boxes, self.views):
            view = copy.deepcopy(results)
            view['img'] = resize_box(
                sources[crop.backend],
                (x1 * fx, y1 * fy, (x2 + 1) * fx, (y2 + 1) * fy),
                tuple(crop.size), crop.interpolation)
            view['img_shape'] = view['img'].shape[:2]
            views.append(rest(view)['img'])
        results['img'] = views
        return results
