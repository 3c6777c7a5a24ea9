"""A deterministic synthetic detection data set: the default data of
``make demo``.

Objects are defined by **shape and texture**; their colours are random, so
colour alone never tells a class. Five classes (:data:`CLASSES`):

=====================  ====================================================
``spotted_disc``       a disc filled with a dot lattice
``striped_square``     a square filled with parallel stripes
``checkered_triangle`` a triangle filled with a checkerboard
``ring``               an annulus (the hole shows what lies behind), any
                       texture
``cross``              a plus-shaped cross, any texture
=====================  ====================================================

Hard negatives ("distractors") share one cue with a class but not both: a
striped disc, a checkered square, a spotted triangle, an ellipse, a bar, an
open arc, a T- or L-shape, a rhombus, each with class-like textures. The
background is a smooth two-colour gradient with a little clutter (faint
textured blobs, thin lines) and pixel noise. Objects and distractors occlude
each other. Each image draws its objects from a "scene" of
:data:`SCENE_CLASSES` classes (co-occurrence, as in natural images). Every
image of every split, the unlabeled pool included, is drawn from the same
distribution; only the labeled splits get annotations. Why
pretraining should help: the labeled set is small, and a backbone that has
learned shape/texture features from the (ten times larger) unlabeled pool
transfers to it.

How the knobs were tuned for the demo (measured on val with the demo's
schedules; the numbers are in README.md, "The demo"): with heavy clutter
(background blobs of the class textures at up to 60 % opacity, up to 5
distractors, a per-image noise level) SwAV's 750 CPU iterations learned
image-level shortcuts (background colour and layout, noise level) and its
backbone transferred *worse* than random initialisation; a grey-scale copy
of the same data showed that colour was most of what it matched. With
object-centric scenes (:data:`SCENE_CLASSES` = 1), a calm background and one
noise level, what two crops of an image share is mostly their objects, and
the pretrained backbone is ahead on val. With at most one distractor per
image (:data:`NUM_DISTRACTORS`; up to 3 before) the same SwAV backbone's
lead on val grew from +2.6 to +5.6 AP50 (+6.8 with SwAV retrained on the
matching pool): more of the detector's task is then finding the objects,
which is what the short SwAV run helps with most (class-agnostic AP50
gained more than AP50 did). No distractors at all gave less (+3.1).

Layout written under ``out_dir``::

    annotations/train.json   COCO, file_name 'train/000000.png'
    annotations/val.json     COCO, file_name 'val/000000.png'
    annotations/test.json    COCO, file_name 'test/000000.png' (held out)
    images/train/000000.png  ...
    images/val/000000.png    ...
    images/test/000000.png   ...
    unlabeled/000000.png     ...   (no labels)
    summary.json             the counts returned by :func:`generate`

mmdet reads it with ``data_root='data/synthetic/'``,
``ann_file='annotations/train.json'`` and ``data_prefix=dict(img='images/')``
(see ``configs/_base_/datasets/synthetic_detection.py``).

COCO details:

- Image ids are ``index + 1`` (the file ``000000.png`` has id 1); annotation
  ids are ``1..N`` within a file; category ids are ``1..5`` in the order of
  :data:`CLASSES`.
- ``bbox`` is ``[x, y, w, h]`` in pixels, the tight box of the object's
  *visible* pixels (after occlusion and cropping at the image border), so it
  always lies inside the image. ``area`` is the box area ``w * h`` (there are
  no masks), which is what the COCO size buckets of ``CocoMetric`` then use:
  small ``< 32**2``, medium ``< 96**2``, large otherwise, in pixels of the
  generated image. ``iscrowd`` is 0.
- Occlusion rule: an object is labeled only if at least
  :data:`MIN_VISIBLE_FRACTION` of its pixels are visible. The generator
  enforces it while placing shapes (a shape that would hide more of an
  already placed object is re-placed, up to :data:`MAX_PLACEMENT_TRIES`
  times, then left out), so no visible class object goes unlabeled; the rule
  is checked again at the end and any object failing it is dropped and
  counted in the summary (``dropped``).

Determinism: every image is drawn by its own
``numpy.random.default_rng([seed, split_code, index])`` (split codes:
train 0, val 1, unlabeled 2, test 3), so the same seed gives byte-identical
files on the same platform and library versions, a larger ``num_*`` only
appends images, and images could be generated in parallel.

Size: the default ``size=(192, 256)`` (height, width) is about the smallest
at which the COCO *large* bucket (box side above 96 px) fits comfortably; at
smaller sizes (e.g. the 96 x 128 of the tests) there are no large objects.
The default 2000 unlabeled + 800 labeled images take about 25 s of one CPU
core (about 8 ms per image) and 0.25 GB of PNG (pixel noise does not
compress).

Tuning knobs are the module-level constants below (object count and size
distribution, distractors, clutter, noise); they are read at call time.
"""
import json
import os
import os.path as osp
import re
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..io import atomic_write_bytes, atomic_write_json
from ..tables import text_table

CLASSES = ('spotted_disc', 'striped_square', 'checkered_triangle', 'ring',
           'cross')

# Shape and the textures allowed for each class, in the order of CLASSES.
CLASS_SPECS = (
    ('disc', ('dots', )),
    ('square', ('stripes', )),
    ('triangle', ('checker', )),
    ('ring', ('flat', 'stripes', 'checker', 'dots', 'blotches')),
    ('cross', ('flat', 'stripes', 'checker', 'dots', 'blotches')),
)
TEXTURES = ('flat', 'stripes', 'checker', 'dots', 'blotches')
# Non-class (shape, textures): each shares a shape or a texture with a class.
DISTRACTOR_SPECS = (
    ('disc', ('stripes', 'checker', 'flat', 'blotches')),
    ('square', ('checker', 'dots', 'flat', 'blotches')),
    ('triangle', ('stripes', 'dots', 'flat', 'blotches')),
    ('ellipse', TEXTURES),
    ('bar', TEXTURES),
    ('arc', TEXTURES),
    ('tee', TEXTURES),
    ('ell', TEXTURES),
    ('rhombus', TEXTURES),
)

# --- Tuning knobs -----------------------------------------------------------
#: Classes an image draws its objects from (its "scene type"), or None for
#: all classes. Natural images are not bags of independent objects (streets
#: hold cars, kitchens cups); this co-occurrence is what lets two crops of one
#: image share content that a self-supervised method can learn from. 1 makes
#: images object-centric, like the ImageNet photos SwAV was designed on.
SCENE_CLASSES = 1
#: Class objects per image, inclusive range.
NUM_OBJECTS = (1, 5)
#: Distractors per image, inclusive range.
NUM_DISTRACTORS = (0, 1)
#: Probability of drawing an object from the small / medium / large bucket.
#: A bucket that does not fit the image is replaced by the next smaller one.
SIZE_BUCKET_PROBS = (0.4, 0.4, 0.2)
#: Range of the box side sqrt(w * h) in pixels for each bucket; the large
#: bucket ends at LARGE_MAX_FRACTION of the shorter image side.
SIZE_RANGES = ((12.0, 30.0), (34.0, 92.0), (100.0, None))
LARGE_MAX_FRACTION = 0.85
#: Texture period as a fraction of the object's box side, and its minimum.
TEXTURE_PERIOD = (0.16, 0.3)
MIN_TEXTURE_PERIOD = 3.0
#: Least luminance difference between the two colours of a texture.
MIN_TEXTURE_CONTRAST = 60.0
#: An object is labeled only if this fraction of its pixels is visible.
MIN_VISIBLE_FRACTION = 0.4
#: At most this fraction of an object's box may lie outside the image.
MAX_TRUNCATION = 0.2
MAX_PLACEMENT_TRIES = 10
#: Background clutter: textured blobs, thin lines (inclusive ranges), blob
#: opacity, and the sigma of the final Gaussian pixel noise.
NUM_BACKGROUND_BLOBS = (0, 2)
NUM_BACKGROUND_LINES = (0, 3)
BLOB_OPACITY = (0.1, 0.3)
NOISE_SIGMA = (3.0, 3.0)

#: Bumped with every change of the drawing code that changes the images (the
#: knobs and specs are compared by value; code is not).
GENERATOR_VERSION = 2

#: The knobs above, the class and distractor specs and
#: :data:`GENERATOR_VERSION`, recorded in ``summary.json`` so that data made
#: by another version or with other values is recognised (:func:`knobs`).
KNOB_NAMES = ('GENERATOR_VERSION', 'CLASSES', 'CLASS_SPECS', 'TEXTURES',
              'DISTRACTOR_SPECS', 'SCENE_CLASSES', 'NUM_OBJECTS',
              'NUM_DISTRACTORS', 'SIZE_BUCKET_PROBS', 'SIZE_RANGES',
              'LARGE_MAX_FRACTION',
              'TEXTURE_PERIOD', 'MIN_TEXTURE_PERIOD', 'MIN_TEXTURE_CONTRAST',
              'MIN_VISIBLE_FRACTION', 'MAX_TRUNCATION', 'MAX_PLACEMENT_TRIES',
              'NUM_BACKGROUND_BLOBS', 'NUM_BACKGROUND_LINES', 'BLOB_OPACITY',
              'NOISE_SIGMA')

SPLIT_CODES = {'train': 0, 'val': 1, 'unlabeled': 2, 'test': 3}
#: Images per split of the default set (the demo's data): :func:`generate`'s
#: and ``tools/dataset_converters/make_synthetic.py``'s defaults. Val and
#: test hold 300 each: with 100, AP50 moved by several points from one split
#: to the next, more than the effect the demo measures.
DEFAULT_SPLIT_SIZES = {
    'unlabeled': 2000,
    'train': 200,
    'val': 300,
    'test': 300
}
#: Default image (height, width).
DEFAULT_IMAGE_SIZE = (192, 256)
SIZE_BUCKETS = ('small', 'medium', 'large')
# Our images, and temporary files a killed run may have left next to them.
_FILE_RE = re.compile(r'^(\d{6}\.png|\.\d{6}\.png.*\.tmp)$')
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def knobs() -> dict:
    """The current tuning knobs (:data:`KNOB_NAMES`) as JSON would read
    them back (tuples become lists)."""
    return json.loads(
        json.dumps({name: globals()[name]
                    for name in KNOB_NAMES}))


def size_bucket(area: float) -> str:
    """COCO size bucket of a box area: small < 32**2 <= medium < 96**2."""
    if area < 32**2:
        return 'small'
    if area < 96**2:
        return 'medium'
    return 'large'


# --- Shapes -----------------------------------------------------------------


def _circle(n: int = 48,
            a0: float = 0.0,
            a1: float = 2 * np.pi,
            rx: float = 1.0,
            ry: float = 1.0) -> np.ndarray:
    t = np.linspace(a0, a1, n, endpoint=(a1 - a0) < 2 * np.pi)
    return np.stack([rx * np.cos(t), ry * np.sin(t)], axis=1)


def _shape_polygons(shape: str,
                    rng: np.random.Generator) -> List[Tuple[np.ndarray, int]]:
    """Polygons of a shape in a unit frame, as (vertices, fill) drawn in
    order; fill 0 cuts a hole."""
    if shape == 'disc':
        return [(_circle(), 1)]
    if shape == 'ellipse':
        return [(_circle(ry=rng.uniform(0.4, 0.7)), 1)]
    if shape == 'square':
        return [(np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float), 1)]
    if shape == 'bar':
        h = rng.uniform(0.25, 0.45)
        return [(np.array([[-1, -h], [1, -h], [1, h], [-1, h]], float), 1)]
    if shape == 'rhombus':
        h = rng.uniform(0.4, 0.6)
        return [(np.array([[-1, 0], [0, -h], [1, 0], [0, h]], float), 1)]
    if shape == 'triangle':
        t = np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        v = np.stack([np.cos(t), np.sin(t)], axis=1)
        return [(v + rng.uniform(-0.1, 0.1, size=v.shape), 1)]
    if shape in ('ring', 'arc'):
        inner = rng.uniform(0.45, 0.72)
        if shape == 'ring':
            return [(_circle(), 1), (_circle(rx=inner, ry=inner), 0)]
        gap = rng.uniform(np.deg2rad(70), np.deg2rad(140))
        a1 = 2 * np.pi - gap
        outer = _circle(40, 0.0, a1)
        inner = _circle(40, 0.0, a1, inner, inner)[::-1]
        return [(np.concatenate([outer, inner]), 1)]
    if shape in ('cross', 'tee', 'ell'):
        w = rng.uniform(0.28, 0.42)
        arms = {
            'cross': [(-1, -w, 1, w), (-w, -1, w, 1)],
            'tee': [(-1, -1, 1, -1 + 2 * w), (-w, -1, w, 1)],
            'ell': [(-1, -1, -1 + 2 * w, 1), (-1, 1 - 2 * w, 1, 1)],
        }[shape]
        return [(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float), 1)
                for x0, y0, x1, y1 in arms]
    raise ValueError(f'unknown shape {shape!r}')


def _rasterize(polys: List[Tuple[np.ndarray, int]], side: float,
               angle: float) -> Tuple[np.ndarray, float, float]:
    """Rotate and scale unit polygons so that their box has
    sqrt(w * h) == side; return the mask (the box starts at pixel 1, 1) and
    the box width and height."""
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    polys = [(p @ rot.T, f) for p, f in polys]
    pts = np.concatenate([p for p, f in polys if f])
    lo, hi = pts.min(0), pts.max(0)
    scale = side / np.sqrt(np.prod(hi - lo))
    lo, hi = lo * scale, hi * scale
    w, h = int(np.ceil(hi[0] - lo[0])) + 3, int(np.ceil(hi[1] - lo[1])) + 3
    off = np.array([1.0 - lo[0], 1.0 - lo[1]])
    mask = np.zeros((h, w), np.uint8)
    for p, f in polys:
        q = np.round((p * scale + off) * 16).astype(np.int32)
        cv2.fillPoly(mask, [q], int(f), lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool), hi[0] - lo[0], hi[1] - lo[1]


# --- Textures ---------------------------------------------------------------


def _grid(h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel row and column coordinates, broadcastable to (h, w)."""
    return (np.arange(h, dtype=np.float32)[:, None],
            np.arange(w, dtype=np.float32)[None, :])


def _frac(x: np.ndarray) -> np.ndarray:
    # x - floor(x) is the same as x % 1 here, and several times faster.
    return x - np.floor(x)


def _texture(kind: str, h: int, w: int, period: float,
             rng: np.random.Generator) -> np.ndarray:
    """A texture map in [0, 1] of shape (h, w)."""
    if kind == 'flat':
        # A faint linear shading so that flat fills are not perfectly flat.
        gy, gx = (rng.uniform(-1, 1, 2) * 0.25 / max(h, w)).astype(np.float32)
        yy, xx = _grid(h, w)
        return np.clip(np.float32(0.1) + gx * xx + gy * yy, 0, 1)
    if kind == 'blotches':
        gh = max(2, int(round(h / period)) + 1)
        gw = max(2, int(round(w / period)) + 1)
        grid = rng.random((gh, gw), dtype=np.float32)
        return cv2.resize(grid, (w, h), interpolation=cv2.INTER_LINEAR)
    angle = rng.uniform(0, np.pi)
    c = np.float32(np.cos(angle) / period)
    s = np.float32(np.sin(angle) / period)
    yy, xx = _grid(h, w)
    u = (xx * c + np.float32(rng.random())) + yy * s
    if kind == 'stripes':
        return (_frac(u) < rng.uniform(0.4, 0.6)).astype(np.float32)
    v = (yy * c + np.float32(rng.random())) - xx * s
    if kind == 'checker':
        cells = np.floor(u).astype(np.int32) + np.floor(v).astype(np.int32)
        return (cells & 1).astype(np.float32)
    if kind == 'dots':
        du, dv = _frac(u) - 0.5, _frac(v) - 0.5
        r = rng.uniform(0.22, 0.34)
        return (du * du + dv * dv < r * r).astype(np.float32)
    raise ValueError(f'unknown texture {kind!r}')


def _colour_pair(rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    c1 = rng.uniform(0, 255, 3).astype(np.float32)
    for _ in range(20):
        c2 = rng.uniform(0, 255, 3).astype(np.float32)
        if abs(float(_LUMA @ (c1 - c2))) >= MIN_TEXTURE_CONTRAST:
            return c1, c2
    return c1, (255 - c1).astype(np.float32)


def _paint(kind: str, h: int, w: int, period: float,
           rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """A texture map and its two colours (the colour at texture value 0
    and the difference to the colour at 1)."""
    t = _texture(kind, h, w, period, rng)
    c1, c2 = _colour_pair(rng)
    return t, np.stack([c1, c2 - c1])


# --- Images -----------------------------------------------------------------


def _count(rng: np.random.Generator, bounds: Tuple[int, int]) -> int:
    """A random integer in the inclusive range ``bounds``."""
    return int(rng.integers(bounds[0], bounds[1] + 1))


def _smooth_noise(h: int, w: int, cells: int,
                  rng: np.random.Generator) -> np.ndarray:
    grid = rng.random((cells, cells), dtype=np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def _background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    a, b = _colour_pair(rng)
    t = _smooth_noise(h, w, int(rng.integers(2, 6)), rng)[..., None]
    img = a + t * (b - a)
    for _ in range(_count(rng, NUM_BACKGROUND_BLOBS)):
        # Irregular regions (thresholded smooth noise), never class shapes.
        region = _smooth_noise(h, w, int(rng.integers(3, 7)), rng)
        region = region > rng.uniform(0.55, 0.75)
        kind = TEXTURES[int(rng.integers(1, len(TEXTURES)))]
        period = rng.uniform(3, 14)
        alpha = np.float32(rng.uniform(*BLOB_OPACITY))
        ys, xs = np.nonzero(region.any(1))[0], np.nonzero(region.any(0))[0]
        if len(ys) == 0:
            continue
        y0, y1, x0, x1 = ys[0], ys[-1] + 1, xs[0], xs[-1] + 1
        t, (c1, dc) = _paint(kind, y1 - y0, x1 - x0, period, rng)
        crop = img[y0:y1, x0:x1]
        # Blend with cv2 (several times faster than numpy here).
        tex = cv2.transform(t[..., None], np.stack([dc, c1], axis=1))
        a = (alpha * region[y0:y1, x0:x1]).astype(np.float32)
        crop[...] = cv2.blendLinear(tex, crop, a, 1 - a)
    for _ in range(_count(rng, NUM_BACKGROUND_LINES)):
        pts = rng.uniform(0, 1, (int(rng.integers(2, 5)), 2)) * (w, h)
        colour = tuple(float(x) for x in rng.uniform(0, 255, 3))
        cv2.polylines(img, [np.round(pts).astype(np.int32)], False, colour,
                      int(rng.integers(1, 3)), cv2.LINE_8)
    return img


def _sample_side(h: int, w: int, rng: np.random.Generator) -> float:
    bucket = int(rng.choice(3, p=np.asarray(SIZE_BUCKET_PROBS)))
    large_max = LARGE_MAX_FRACTION * min(h, w)
    ranges = [list(r) for r in SIZE_RANGES]
    ranges[2][1] = large_max
    while bucket > 0 and ranges[bucket][0] >= ranges[bucket][1]:
        bucket -= 1
    lo, hi = ranges[bucket][0], min(ranges[bucket][1], large_max)
    hi = max(hi, lo)
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


class Rendered(NamedTuple):
    """One image drawn by :func:`render_image`."""
    #: RGB ``uint8`` image of shape (h, w, 3).
    image: np.ndarray
    #: Labeled objects: dicts with ``label`` (index into :data:`CLASSES`),
    #: ``bbox`` ([x, y, w, h] of the visible pixels), ``visible`` (visible
    #: fraction) and ``index`` (the object's value in ``owner``).
    objects: List[dict]
    #: Class objects dropped by the occlusion rule.
    dropped: int
    #: (h, w) ``int32`` map: index of the shape that shows at each pixel,
    #: -1 for background.
    owner: np.ndarray
    #: Label of every shape index in ``owner``; -1 for distractors.
    shape_labels: List[int]


def render_image(h: int, w: int, rng: np.random.Generator) -> Rendered:
    """Draw one image.

    Args:
        h (int): Image height.
        w (int): Image width.
        rng (numpy.random.Generator): The image's own generator.

    Returns:
        Rendered: The image, its labeled objects and how they were drawn.
    """
    img = _background(h, w, rng)
    owner = np.full((h, w), -1, np.int32)
    num_scene = min(SCENE_CLASSES or len(CLASSES), len(CLASSES))
    scene = rng.choice(len(CLASSES), size=num_scene, replace=False)
    kinds = ([True] * _count(rng, NUM_OBJECTS) +
             [False] * _count(rng, NUM_DISTRACTORS))
    rng.shuffle(kinds)
    # [label, full pixel count, visible pixel count, placed region]
    objects = []
    for is_object in kinds:
        if is_object:
            label = int(scene[rng.integers(num_scene)])
            shape, textures = CLASS_SPECS[label]
        else:
            label = -1
            shape, textures = DISTRACTOR_SPECS[int(
                rng.integers(len(DISTRACTOR_SPECS)))]
        texture = textures[int(rng.integers(len(textures)))]
        side = _sample_side(h, w, rng)
        polys = _shape_polygons(shape, rng)
        mask, bw, bh = _rasterize(polys, side, rng.uniform(0, 2 * np.pi))
        ph, pw = mask.shape
        full = int(mask.sum())
        if full == 0:
            continue
        period = max(MIN_TEXTURE_PERIOD, side * rng.uniform(*TEXTURE_PERIOD))
        tex, (c1, dc) = _paint(texture, ph, pw, period, rng)
        for _ in range(MAX_PLACEMENT_TRIES):
            slack_x, slack_y = MAX_TRUNCATION * bw, MAX_TRUNCATION * bh
            lo_x, hi_x = bw / 2 - slack_x, w - bw / 2 + slack_x
            lo_y, hi_y = bh / 2 - slack_y, h - bh / 2 + slack_y
            cx = rng.uniform(lo_x, hi_x) if hi_x > lo_x else w / 2
            cy = rng.uniform(lo_y, hi_y) if hi_y > lo_y else h / 2
            x0 = int(round(cx - bw / 2 - 1))
            y0 = int(round(cy - bh / 2 - 1))
            ix0, iy0 = max(x0, 0), max(y0, 0)
            ix1, iy1 = min(x0 + pw, w), min(y0 + ph, h)
            if ix1 <= ix0 or iy1 <= iy0:
                continue
            m = mask[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
            inside = int(m.sum())
            if label >= 0 and inside < MIN_VISIBLE_FRACTION * full:
                continue
            covered = np.bincount(
                owner[iy0:iy1, ix0:ix1][m] + 1, minlength=len(objects) + 1)
            if all(vis - covered[j + 1] >= MIN_VISIBLE_FRACTION * tot
                   for j, (lab, tot, vis, _) in enumerate(objects)
                   if lab >= 0):
                break
        else:
            continue  # no placement keeps the others visible: leave it out
        for j in range(len(objects)):
            objects[j][2] -= int(covered[j + 1])
        region = img[iy0:iy1, ix0:ix1]
        t = tex[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0][m]
        region[m] = c1 + t[:, None] * dc
        owner[iy0:iy1, ix0:ix1][m] = len(objects)
        objects.append([label, full, inside, (iy0, iy1, ix0, ix1)])

    gain = rng.uniform(0.85, 1.15)
    bias = rng.uniform(-15, 15)
    noise = rng.standard_normal(img.shape, dtype=np.float32)
    noise *= np.float32(rng.uniform(*NOISE_SIGMA))
    img *= np.float32(gain)
    img += noise + np.float32(bias)
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)

    labeled, dropped = [], 0
    for j, (label, full, vis, (iy0, iy1, ix0, ix1)) in enumerate(objects):
        if label < 0:
            continue
        if vis < MIN_VISIBLE_FRACTION * full or vis == 0:
            dropped += 1
            continue
        ys, xs = np.nonzero(owner[iy0:iy1, ix0:ix1] == j)
        x, y = ix0 + int(xs.min()), iy0 + int(ys.min())
        bw = ix0 + int(xs.max()) - x + 1
        bh = iy0 + int(ys.max()) - y + 1
        labeled.append(
            dict(
                label=label, bbox=[x, y, bw, bh], visible=vis / full, index=j))
    return Rendered(out, labeled, dropped, owner, [obj[0] for obj in objects])


# --- Writing ----------------------------------------------------------------


def _write_png(path: str, rgb: np.ndarray) -> None:
    # cv2 encodes these noisy PNGs in ~2.4 ms, Pillow in ~16 ms; the files
    # can be generated again, so they are not fsync-ed one by one
    ok, buf = cv2.imencode('.png', np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise OSError(f'could not encode {path}')
    atomic_write_bytes(path, buf.tobytes(), fsync=False)


def _clear_generated(out_dir: str) -> None:
    """Remove the files a previous run wrote (and nothing else)."""
    for sub in ('images/train', 'images/val', 'images/test', 'unlabeled'):
        d = osp.join(out_dir, sub)
        if osp.isdir(d):
            for name in os.listdir(d):
                if _FILE_RE.match(name):
                    os.remove(osp.join(d, name))
    for name in ('annotations/train.json', 'annotations/val.json',
                 'annotations/test.json', 'summary.json'):
        if osp.isfile(osp.join(out_dir, name)):
            os.remove(osp.join(out_dir, name))


def _image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLIT_CODES[split], index])


def generate(
        out_dir: str,
        seed: int = 0,
        num_unlabeled: int = DEFAULT_SPLIT_SIZES['unlabeled'],
        num_train: int = DEFAULT_SPLIT_SIZES['train'],
        num_val: int = DEFAULT_SPLIT_SIZES['val'],
        size=DEFAULT_IMAGE_SIZE,
        force: bool = False,
        num_test: int = DEFAULT_SPLIT_SIZES['test'],
        *,
        progress: Optional[Callable[[str, int, int], None]] = None) -> dict:
    """Generate the synthetic detection set under ``out_dir``.

    Args:
        out_dir (str): Output folder; created if missing.
        seed (int): Seed of the whole set. Defaults to 0.
        num_unlabeled (int): Images in the unlabeled pool. Defaults to 2000.
        num_train (int): Labeled training images. Defaults to 200.
        num_val (int): Labeled validation images. Defaults to 300.
        size (Sequence[int]): Image (height, width). Defaults to (192, 256).
        force (bool): Allow writing into a non-empty ``out_dir``; files of a
            previous run (``NNNNNN.png`` in the image folders, the
            annotation files and ``summary.json``) are removed first, other
            files are left alone. Defaults to False.
        num_test (int): Labeled held-out test images, for a result that
            no tuning has seen (tune on ``val``, report ``test``); 0 writes
            no test split. Defaults to 300 (with 100 test images, AP50
            moved by several points from one split to the next).
        progress (callable, optional): Called as ``progress(split, done,
            total)`` after each image. Defaults to None.

    Returns:
        dict: ``seed``, ``size`` ([h, w]), ``classes`` and ``splits``: for
        ``train``, ``val`` and ``test`` the counts ``images``, ``annotations``,
        ``dropped`` (occlusion rule), ``per_class`` and ``per_size`` (COCO
        buckets); for ``unlabeled`` only ``images``; ``knobs``
        (:func:`knobs`). The same dict is written
        to ``summary.json``; the returned one also has ``out_dir``.

    Raises:
        FileExistsError: ``out_dir`` is not empty (or is a file) and
            ``force`` is False.
    """
    h, w = (int(x) for x in size)
    if h < 32 or w < 32:
        raise ValueError(f'size must be at least 32 x 32, got {size}')
    for name, n in (('num_unlabeled', num_unlabeled), ('num_train', num_train),
                    ('num_val', num_val), ('num_test', num_test)):
        if n < 0:
            raise ValueError(f'{name} must be >= 0, got {n}')
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise FileExistsError(f'{out_dir} exists and is not a folder')
    if osp.isdir(out_dir) and os.listdir(out_dir):
        if not force:
            raise FileExistsError(
                f'{out_dir} is not empty; pass --force (force=True) to '
                'overwrite the generated files in it')
        _clear_generated(out_dir)
    labeled = [('train', num_train), ('val', num_val)]
    if num_test:
        labeled.append(('test', num_test))
    for sub in ['annotations', 'unlabeled'
                ] + [f'images/{split}' for split, _ in labeled]:
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)

    categories = [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(CLASSES)
    ]
    splits: Dict[str, dict] = {}
    for split, num in labeled + [('unlabeled', num_unlabeled)]:
        images, annotations, dropped = [], [], 0
        per_class = {name: 0 for name in CLASSES}
        per_size = {name: 0 for name in SIZE_BUCKETS}
        folder = 'unlabeled' if split == 'unlabeled' else f'images/{split}'
        for index in range(num):
            img, objects, n_drop, _, _ = render_image(
                h, w, _image_rng(seed, split, index))
            name = f'{index:06d}.png'
            _write_png(osp.join(out_dir, folder, name), img)
            if split != 'unlabeled':
                images.append(
                    dict(
                        id=index + 1,
                        file_name=f'{split}/{name}',
                        height=h,
                        width=w))
                for obj in objects:
                    x, y, bw, bh = obj['bbox']
                    annotations.append(
                        dict(
                            id=len(annotations) + 1,
                            image_id=index + 1,
                            category_id=obj['label'] + 1,
                            bbox=[x, y, bw, bh],
                            area=bw * bh,
                            iscrowd=0))
                    per_class[CLASSES[obj['label']]] += 1
                    per_size[size_bucket(bw * bh)] += 1
                dropped += n_drop
            if progress is not None:
                progress(split, index + 1, num)
        if split == 'unlabeled':
            splits[split] = dict(images=num)
            continue
        atomic_write_json(
            osp.join(out_dir, 'annotations', f'{split}.json'),
            dict(
                info=dict(
                    description='synthetic shapes and textures '
                    '(ssdet.data.synthetic)',
                    seed=seed),
                images=images,
                annotations=annotations,
                categories=categories),
            indent=1)
        splits[split] = dict(
            images=num,
            annotations=len(annotations),
            dropped=dropped,
            per_class=per_class,
            per_size=per_size)

    summary = dict(
        seed=seed,
        size=[h, w],
        classes=list(CLASSES),
        splits=splits,
        knobs=knobs())
    atomic_write_json(osp.join(out_dir, 'summary.json'), summary, indent=1)
    return dict(summary, out_dir=out_dir)


def format_summary(summary: dict) -> str:
    """The summary of :func:`generate` as a plain-text table."""
    rows = []
    for split, s in summary['splits'].items():
        per_class = s.get('per_class', {})
        per_size = s.get('per_size', {})
        rows.append([
            split, s['images'],
            s.get('annotations'),
            s.get('dropped'), *[per_class.get(c) for c in CLASSES],
            *[per_size.get(b) for b in SIZE_BUCKETS]
        ])
    return text_table(
        ['split', 'images', 'boxes', 'dropped', *CLASSES, *SIZE_BUCKETS],
        rows)


__all__: Sequence[str] = ('CLASSES', 'generate', 'render_image', 'size_bucket',
                          'format_summary', 'knobs')
