"""``DecodeOnceMultiView``: mmselfsup's ``MultiView`` that draws every
view's ``RandomResizedCrop`` box first and decodes a deferred JPEG once, at
the smallest libjpeg scale those boxes allow (docs/benchmarks.md, "Decoding
only what the crops need").
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

#: libjpeg's power-of-two DCT scalings, largest reduction first (the others
#: decode slower than the full size).
REDUCTIONS = (8, 4, 2)


def jpeg_reduction(size: Tuple[int, int], crops: Sequence[tuple]) -> int:
    """The largest reduction (8, 4, 2 or 1) of an image of ``size``
    ``(h, w)`` that keeps every crop ``((box_h, box_w), (out_h, out_w))``
    at or above its output size."""
    height, width = size
    for r in REDUCTIONS:
        # libjpeg rounds a scaled dimension up
        fy, fx = -(-height // r) / height, -(-width // r) / width
        if all(bh * fy >= oh and bw * fx >= ow
               for (bh, bw), (oh, ow) in crops):
            return r
    return 1


def resize_box(img: Union[np.ndarray, Image.Image],
               box: Tuple[float, float, float, float], size: Tuple[int, int],
               interpolation: str) -> np.ndarray:
    """Resize ``box`` (x1, y1, x2, y2, exclusive) of an image to ``size``
    ``(h, w)``: a Pillow image from the sub-pixel box, an array (cv2
    backend) from the box rounded to whole pixels."""
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
    """``MultiView`` that crops a deferred JPEG (``img_bytes`` from
    ``LoadImageFromFileOrSkip(defer_jpeg=True)``) from one scaled decode;
    a decoded ``img`` goes through ``MultiView`` unchanged.

    Every view pipeline must begin with mmselfsup's ``RandomResizedCrop``.
    A JPEG that strict libjpeg refuses is decoded by Pillow in full, and
    skipped only if that fails too.

    Args:
        transforms (list[list[dict | callable]]): The view pipelines.
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
        stand_in = np.empty((height, width, 0), np.uint8)  # size only
        boxes = [
            crop.get_params(stand_in, crop.scale, crop.ratio,
                            crop.max_attempts) for crop, _ in self.views
        ]
        reduction = jpeg_reduction(
            (height, width),
            [((y2 - y1 + 1, x2 - x1 + 1), tuple(crop.size))
             for (y1, x1, y2, x2), (crop, _) in zip(boxes, self.views)])
        try:
            import simplejpeg
            img = simplejpeg.decode_jpeg(
                content,
                colorspace='BGR',
                min_height=-(-height // reduction),
                min_width=-(-width // reduction))
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
