"""Check a COCO detection JSON before training on it.

mmdet's ``CocoDataset`` trusts its annotation file: a duplicate image id
merges two images' boxes, an annotation whose ``image_id`` or
``category_id`` is unknown fails deep inside pycocotools, and a box with
``w < 1``, ``h < 1`` or ``area <= 0`` is dropped without a word. A box
outside the image is kept and clipped by augmentations into something else.
:func:`check_coco` finds all of these, naming the entry (list index and id)
and what to fix; ``tools/analysis/check_dataset.py`` is its door.

Field semantics as the COCO format (cocodataset.org/#format-data) and
mmdet 3.x ``CocoDataset.parse_data_info`` (which boxes it drops).
"""
import json
import math
import os.path as osp
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

#: Pixels a box may extend past the image border before it is an error
#: (annotation tools round to whole pixels).
BORDER_TOLERANCE = 1.0


@dataclass
class Problem:
    """One finding: ``where`` names the entry, ``message`` what to do."""

    severity: str  # 'error' or 'warning'
    where: str
    message: str

    def __str__(self) -> str:
        return f'{self.severity}: {self.where}: {self.message}'


@dataclass
class CocoReport:
    """The result of :func:`check_coco`.

    Attributes:
        path (str): The checked file.
        num_images (int): Entries of ``images``.
        num_annotations (int): Entries of ``annotations``.
        num_categories (int): Entries of ``categories``.
        images_without_boxes (int): Images with no annotation (valid:
            background images).
        problems (list[Problem]): Errors and warnings, in file order.
        counts (Counter): Problems per kind, including the ones beyond
            ``max_problems`` that were not listed.
    """

    path: str
    num_images: int = 0
    num_annotations: int = 0
    num_categories: int = 0
    images_without_boxes: int = 0
    problems: List[Problem] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    @property
    def errors(self) -> List[Problem]:
        return [p for p in self.problems if p.severity == 'error']

    @property
    def warnings(self) -> List[Problem]:
        return [p for p in self.problems if p.severity == 'warning']

    @property
    def ok(self) -> bool:
        """bool: No error was found (warnings allowed)."""
        return not any(k.startswith('error:') for k in self.counts)

    def format(self) -> str:
        """The report as text: a summary line, then one line a problem."""
        num_errors = sum(v for k, v in self.counts.items()
                         if k.startswith('error:'))
        num_warnings = sum(self.counts.values()) - num_errors
        lines = [
            f'{self.path}: {self.num_images} images, {self.num_annotations} '
            f'annotations, {self.num_categories} categories, '
            f'{self.images_without_boxes} images without boxes; '
            f'{num_errors} error(s), {num_warnings} warning(s)'
        ]
        lines += [f'  {p}' for p in self.problems]
        unlisted = sum(self.counts.values()) - len(self.problems)
        if unlisted > 0:
            lines.append(f'  ... and {unlisted} more (--max-problems)')
        return '\n'.join(lines)


class _Collector:

    def __init__(self, report: CocoReport, max_problems: int) -> None:
        self.report = report
        self.max_problems = max_problems

    def add(self, severity: str, kind: str, where: str, message: str) -> None:
        self.report.counts[f'{severity}:{kind}'] += 1
        if len(self.report.problems) < self.max_problems:
            self.report.problems.append(Problem(severity, where, message))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _where(section: str, index: int, entry: Any) -> str:
    if isinstance(entry, dict) and 'id' in entry:
        return f'{section}[{index}] (id {entry["id"]!r})'
    return f'{section}[{index}]'


def _read_size(path: str):
    from PIL import Image
    with Image.open(path) as img:
        return img.size  # (w, h)


def load_coco_json(path: str) -> dict:
    """Read a COCO JSON with errors that name the file, line and column.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: Not JSON, or not an object with ``images``,
            ``annotations`` and ``categories`` lists.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'annotation file {path} does not exist (check ann_file and '
            'data_root in the config)')
    with open(path, encoding='utf-8') as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(
                f'{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg}); '
                'was the file cut short while it was written?') from e
    if not isinstance(data, dict):
        raise ValueError(f'{path}: a COCO file is a JSON object with '
                         f'"images", "annotations" and "categories"; got a '
                         f'{type(data).__name__}')
    missing = [k for k in ('images', 'annotations', 'categories')
               if not isinstance(data.get(k), list)]
    if missing:
        raise ValueError(f'{path}: missing or not a list: '
                         f'{", ".join(missing)} (COCO detection format: '
                         'https://cocodataset.org/#format-data)')
    return data


def check_coco(path: str,
               images_root: Optional[str] = None,
               max_problems: int = 50) -> CocoReport:
    """Check a COCO detection file (and its images).

    Errors: duplicate image, annotation or category ids; missing or
    non-positive image sizes; annotations with an unknown ``image_id`` or
    ``category_id``; boxes that are not four finite numbers, that have
    ``w <= 0`` or ``h <= 0``, that extend more than
    :data:`BORDER_TOLERANCE` pixels outside their image, or that mmdet
    would drop silently (``w < 1``, ``h < 1`` or ``area <= 0``); ``iscrowd``
    other than 0/1; with ``images_root``, image files that are missing,
    unreadable or whose size differs from ``width``/``height``.
    Warnings: duplicate ``file_name``\\ s or category names.

    Args:
        path (str): The COCO JSON file.
        images_root (str, optional): Folder that ``file_name`` is relative
            to (mmdet's ``data_root`` + ``data_prefix.img``); None skips
            the image checks. Defaults to None.
        max_problems (int): Problems listed in the report; all are
            counted. Defaults to 50.

    Returns:
        CocoReport: Summary and problems; ``report.ok`` is False on errors.

    Raises:
        FileNotFoundError: ``path`` or ``images_root`` does not exist.
        ValueError: The file is not a COCO JSON object (see
            :func:`load_coco_json`).
    """
    data = load_coco_json(path)
    if images_root is not None and not osp.isdir(images_root):
        raise FileNotFoundError(
            f'image folder {images_root} does not exist (--img-root is the '
            'folder that file_name in the JSON is relative to)')
    report = CocoReport(
        path=path,
        num_images=len(data['images']),
        num_annotations=len(data['annotations']),
        num_categories=len(data['categories']))
    out = _Collector(report, max_problems)

    categories: Dict[Any, dict] = {}
    names: Dict[str, int] = {}
    for i, cat in enumerate(data['categories']):
        where = _where('categories', i, cat)
        if not isinstance(cat, dict) or not _is_int(cat.get('id')):
            out.add('error', 'category id', where,
                    'needs an integer "id"')
            continue
        if cat['id'] in categories:
            out.add('error', 'duplicate category id', where,
                    f'duplicate category id {cat["id"]}; give each category '
                    'its own id')
            continue
        categories[cat['id']] = cat
        name = cat.get('name')
        if name in names:
            out.add('warning', 'duplicate category name', where,
                    f'category name {name!r} also used by id {names[name]}; '
                    'mmdet maps classes by name')
        else:
            names[name] = cat['id']

    images: Dict[Any, dict] = {}
    file_names: Dict[str, int] = {}
    for i, img in enumerate(data['images']):
        where = _where('images', i, img)
        if not isinstance(img, dict) or not _is_int(img.get('id')):
            out.add('error', 'image id', where, 'needs an integer "id"')
            continue
        if img['id'] in images:
            out.add('error', 'duplicate image id', where,
                    f'duplicate image id {img["id"]} (first: '
                    f'{images[img["id"]].get("file_name")!r}); mmdet would '
                    'merge the boxes of both images. Give each image its '
                    'own id')
            continue
        images[img['id']] = img
        w, h = img.get('width'), img.get('height')
        if not (_is_number(w) and _is_number(h) and w > 0 and h > 0):
            out.add('error', 'image size', where,
                    f'width/height must be positive numbers, got {w!r} x '
                    f'{h!r}')
        name = img.get('file_name')
        if not isinstance(name, str) or not name:
            out.add('error', 'file name', where, 'needs a "file_name"')
            continue
        if name in file_names:
            out.add('warning', 'duplicate file name', where,
                    f'file_name {name!r} also used by image id '
                    f'{file_names[name]}')
        else:
            file_names[name] = img['id']
        if images_root is not None:
            _check_image_file(out, where, osp.join(images_root, name), w, h)

    with_boxes = set()
    ann_ids = set()
    for i, ann in enumerate(data['annotations']):
        where = _where('annotations', i, ann)
        if not isinstance(ann, dict):
            out.add('error', 'annotation', where, 'is not an object')
            continue
        if not _is_int(ann.get('id')):
            out.add('error', 'annotation id', where,
                    'needs an integer "id"')
        elif ann['id'] in ann_ids:
            out.add('error', 'duplicate annotation id', where,
                    f'duplicate annotation id {ann["id"]}; pycocotools '
                    'indexes annotations by id, so one of them is lost. '
                    'Renumber the annotations')
        else:
            ann_ids.add(ann['id'])
        img = images.get(ann.get('image_id'))
        if img is None:
            out.add('error', 'unknown image_id', where,
                    f'image_id {ann.get("image_id")!r} is not in "images"')
        else:
            with_boxes.add(ann['image_id'])
        if ann.get('category_id') not in categories:
            out.add('error', 'unknown category_id', where,
                    f'category_id {ann.get("category_id")!r} is not in '
                    f'"categories" (ids: {sorted(categories)})')
        if ann.get('iscrowd', 0) not in (0, 1):
            out.add('error', 'iscrowd', where,
                    f'iscrowd must be 0 or 1, got {ann.get("iscrowd")!r}')
        _check_box(out, where, ann, img)
    report.images_without_boxes = len(set(images) - with_boxes)
    return report


def _check_box(out: _Collector, where: str, ann: dict,
               img: Optional[dict]) -> None:
    bbox = ann.get('bbox')
    if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4
            and all(_is_number(v) for v in bbox)):
        out.add('error', 'bbox format', where,
                f'bbox must be [x, y, w, h] (four finite numbers), got '
                f'{bbox!r}')
        return
    x, y, w, h = bbox
    if w <= 0 or h <= 0:
        out.add('error', 'empty box', where,
                f'bbox {list(bbox)} has w <= 0 or h <= 0 (COCO boxes are '
                '[x, y, width, height], not [x1, y1, x2, y2]); fix or '
                'remove it')
        return
    if w < 1 or h < 1:
        out.add('error', 'tiny box', where,
                f'bbox {list(bbox)} is under 1 pixel wide or high; mmdet '
                'drops it silently. Remove it or fix its size')
    area = ann.get('area')
    if area is not None and (not _is_number(area) or area <= 0):
        out.add('error', 'area', where,
                f'area {area!r} is not positive; mmdet drops such boxes '
                'silently. Set area to w * h (or the mask area)')
    if img is None:
        return
    iw, ih = img.get('width'), img.get('height')
    if not (_is_number(iw) and _is_number(ih)):
        return
    tol = BORDER_TOLERANCE
    if x < -tol or y < -tol or x + w > iw + tol or y + h > ih + tol:
        out.add('error', 'box outside image', where,
                f'bbox {list(bbox)} (x1 {x:g}, y1 {y:g}, x2 {x + w:g}, y2 '
                f'{y + h:g}) extends outside image {img["id"]} '
                f'({img.get("file_name")!r}, {iw} x {ih}); clip it to the '
                'image or fix the image size')


def _check_image_file(out: _Collector, where: str, path: str, w: Any,
                      h: Any) -> None:
    if not osp.isfile(path):
        out.add('error', 'missing image', where,
                f'image file {path} does not exist; fix file_name or '
                '--img-root (the folder file_name is relative to)')
        return
    try:
        size = _read_size(path)
    except Exception as e:  # noqa: B902  any decoder error
        out.add('error', 'unreadable image', where,
                f'image file {path} cannot be read ({type(e).__name__}: '
                f'{e}); replace it or remove the image and its boxes')
        return
    if _is_number(w) and _is_number(h) and tuple(size) != (w, h):
        out.add('error', 'image size mismatch', where,
                f'{path} is {size[0]} x {size[1]} but the JSON says '
                f'{w} x {h}; the boxes are probably for another resolution')
