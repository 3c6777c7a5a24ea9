"""Labels of the NYU Deep Learning final-project detection set, as COCO.

The labeled part of the set of the NYU DS-GA 1008 final project
(semi-supervised object detection, 100 classes) is laid out as::

    <root>/training/images/<n>.JPEG     <root>/training/labels/<n>.yml
    <root>/validation/images/<n>.JPEG   <root>/validation/labels/<n>.yml

and each YAML file holds parallel lists::

    bboxes:
    - [x1, y1, x2, y2]      # pixels, corners
    labels:
    - cup or mug

Other keys are ignored; image sizes are read from the image header. The class
order (``configs/_base_/datasets/nyu_classes.txt``) is the ``class_dict`` of
the course's provided evaluation script: line ``k`` is the course's class
index ``k`` and COCO ``category_id`` ``k + 1`` here, so an mmdet label index
equals the course's index.
"""
import logging
import os
import os.path as osp
from collections import Counter
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import yaml

logger = logging.getLogger(__name__)

#: (COCO file stem, folder under the root) of each split, in order.
SPLITS = (('train', 'training'), ('val', 'validation'))
LABEL_SUFFIX = '.yml'

_YAML_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


class NYULabelError(ValueError):
    """A label or image file of the NYU set that cannot be converted."""


def load_class_names(path: str) -> List[str]:
    """Read a class list: one name per line (names may hold spaces).

    Blank lines and lines starting with ``#`` are ignored.

    Args:
        path (str): The class list file.

    Returns:
        list[str]: The names, in file order.

    Raises:
        NYULabelError: The file holds a name twice or no name.
    """
    with open(path, encoding='utf-8') as f:
        names = [
            line.strip() for line in f
            if line.strip() and not line.lstrip().startswith('#')
        ]
    dup = sorted(n for n, c in Counter(names).items() if c > 1)
    if dup:
        raise NYULabelError(f'{path}: class(es) listed twice: {dup}')
    if not names:
        raise NYULabelError(f'{path}: no class names')
    return names


def read_label_file(path: str) -> Tuple[List[str], List[list]]:
    """Parse one ``<n>.yml`` label file.

    Args:
        path (str): The label file.

    Returns:
        tuple[list[str], list[list]]: The class names and the
        ``[x1, y1, x2, y2]`` boxes, in file order (both may be empty).

    Raises:
        NYULabelError: Malformed YAML, missing keys, lists of different
            lengths, or a box that is not four numbers.
    """
    try:
        with open(path, encoding='utf-8') as f:
            data = yaml.load(f, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise NYULabelError(
            f'{path}: malformed YAML ({exc}); fix or regenerate the '
            f'file') from exc
    if not isinstance(data, dict) or 'labels' not in data \
            or 'bboxes' not in data:
        found = (f'keys {sorted(data)}'
                 if isinstance(data, dict) else type(data).__name__)
        raise NYULabelError(
            f'{path}: expected a mapping with keys "labels" and "bboxes", '
            f'found {found}')
    labels = data['labels'] or []
    bboxes = data['bboxes'] or []
    if not isinstance(labels, list) or not isinstance(bboxes, list):
        raise NYULabelError(f'{path}: "labels" and "bboxes" must be lists')
    if len(labels) != len(bboxes):
        raise NYULabelError(
            f'{path}: {len(labels)} labels but {len(bboxes)} bboxes; each '
            f'box needs exactly one label')
    for i, (name, box) in enumerate(zip(labels, bboxes)):
        if not isinstance(name, str):
            raise NYULabelError(
                f'{path}: box {i}: label {name!r} is not a class name')
        if not isinstance(box, list) or len(box) != 4 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool)
                for v in box):
            raise NYULabelError(
                f'{path}: box {i} is {box!r}; expected [x1, y1, x2, y2] '
                f'(four numbers)')
    return labels, bboxes


def check_boxes(path: str, labels: Sequence[str], bboxes: Sequence[list],
                width: int, height: int, class_ids: Dict[str, int]) -> None:
    """Check classes and box geometry against the image.

    A box must satisfy ``0 <= x1 < x2 <= width`` and
    ``0 <= y1 < y2 <= height``.

    Args:
        path (str): The label file (for messages).
        labels (Sequence[str]): Class names.
        bboxes (Sequence[list]): ``[x1, y1, x2, y2]`` boxes.
        width (int): Image width.
        height (int): Image height.
        class_ids (dict[str, int]): Known classes.

    Raises:
        NYULabelError: Naming the file, the box index and what to fix.
    """
    for i, (name, (x1, y1, x2, y2)) in enumerate(zip(labels, bboxes)):
        if name not in class_ids:
            raise NYULabelError(
                f'{path}: box {i}: unknown class {name!r}; fix the label or '
                f'pass --classes with a list that holds it')
        if x2 <= x1 or y2 <= y1:
            raise NYULabelError(
                f'{path}: box {i} [{x1}, {y1}, {x2}, {y2}] is empty or '
                f'inverted; boxes are [x1, y1, x2, y2] with x2 > x1, '
                f'y2 > y1')
        if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
            raise NYULabelError(
                f'{path}: box {i} [{x1}, {y1}, {x2}, {y2}] lies outside the '
                f'{width}x{height} image; fix the box (0 <= x1 < x2 <= '
                f'{width}, 0 <= y1 < y2 <= {height})')


def image_size(path: str) -> Tuple[int, int]:
    """Width and height from the image header (pixels are not decoded).

    Args:
        path (str): The image.

    Returns:
        tuple[int, int]: ``(width, height)``.

    Raises:
        NYULabelError: The file is not a readable image.
    """
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as img:
            return img.size
    except (UnidentifiedImageError, OSError) as exc:
        raise NYULabelError(f'{path}: not a readable image ({exc})') from exc


def list_split(root: str, split_dir: str) -> List[Tuple[int, str, str]]:
    """Pair the images and label files of one split.

    Args:
        root (str): The NYU root.
        split_dir (str): ``'training'`` or ``'validation'``.

    Returns:
        list[tuple[int, str, str]]: ``(n, image path, label path)`` sorted
        by ``n``; paths include ``root``.

    Raises:
        FileNotFoundError: ``images/`` or ``labels/`` is absent.
        NYULabelError: A file name is not ``<n>.<ext>``, or an image has no
            label file or a label file no image.
    """
    image_dir = osp.join(root, split_dir, 'images')
    label_dir = osp.join(root, split_dir, 'labels')
    for d in (image_dir, label_dir):
        if not osp.isdir(d):
            raise FileNotFoundError(
                f'{d} not found; expected {split_dir}/images/<n>.JPEG and '
                f'{split_dir}/labels/<n>.yml under {root}')

    def by_number(folder, what):
        found = {}
        for name in os.listdir(folder):
            if name.startswith('.'):
                continue
            stem = osp.splitext(name)[0]
            if not stem.isdigit():
                raise NYULabelError(
                    f'{osp.join(folder, name)}: expected {what} named '
                    f'<n>{".JPEG" if what == "images" else LABEL_SUFFIX} '
                    f'(n a number); move the file away')
            if int(stem) in found:
                raise NYULabelError(
                    f'{folder}: two {what} for number {int(stem)}: '
                    f'{found[int(stem)]}, {name}')
            found[int(stem)] = name
        return found

    images = by_number(image_dir, 'images')
    labels = by_number(label_dir, 'labels')
    orphans = sorted(set(images) ^ set(labels))
    if orphans:
        n = orphans[0]
        if n in images:
            which = osp.join(image_dir, images[n])
        else:
            which = osp.join(label_dir, labels[n])
        raise NYULabelError(
            f'{len(orphans)} file(s) in {osp.join(root, split_dir)} without '
            f'a partner, e.g. {which}; every images/<n>.JPEG needs '
            f'labels/<n>.yml and vice versa')
    return [(n, osp.join(image_dir, images[n]), osp.join(label_dir, labels[n]))
            for n in sorted(images)]


def collect_class_names(root: str,
                        split_dirs: Sequence[str] = ('training', )
                        ) -> List[str]:
    """All class names used in the labels of the given splits, sorted.

    A fallback when no class list is given: the ids then depend on the
    data, not on the course's fixed order.

    Args:
        root (str): The NYU root.
        split_dirs (Sequence[str]): Splits to scan.
            Defaults to ``('training',)``.

    Returns:
        list[str]: Sorted names.
    """
    names = set()
    for split_dir in split_dirs:
        for _, _, label_path in list_split(root, split_dir):
            names.update(read_label_file(label_path)[0])
    return sorted(names)


def convert_split(
    root: str,
    split_dir: str,
    class_names: Sequence[str],
    skip_invalid: bool = False,
    on_image: Optional[Callable[[], None]] = None
) -> Tuple[dict, List[Tuple[str, str]]]:
    """Convert one split to a COCO dict.

    Image ``id`` is the file number ``n`` (unique across the course's
    splits), ``file_name`` is relative to ``root``
    (``training/images/<n>.JPEG``), categories are ``id = index + 1`` in
    ``class_names`` order, and boxes become ``[x, y, w, h]``.

    Args:
        root (str): The NYU root.
        split_dir (str): ``'training'`` or ``'validation'``.
        class_names (Sequence[str]): The classes, in id order.
        skip_invalid (bool): Skip (and report) images whose label or image
            file is bad instead of raising. Defaults to False.
        on_image (callable, optional): Called once per image, e.g.
            ``tqdm.update``. Defaults to None.

    Returns:
        tuple[dict, list[tuple[str, str]]]: The COCO dict and the skipped
        ``(label path, reason)`` pairs.

    Raises:
        NYULabelError: A bad file, unless ``skip_invalid``.
    """
    class_ids = {name: i + 1 for i, name in enumerate(class_names)}
    images, annotations, skipped = [], [], []
    for n, image_path, label_path in list_split(root, split_dir):
        try:
            labels, bboxes = read_label_file(label_path)
            width, height = image_size(image_path)
            check_boxes(label_path, labels, bboxes, width, height, class_ids)
        except NYULabelError as exc:
            if not skip_invalid:
                raise
            skipped.append((label_path, str(exc)))
        else:
            images.append(
                dict(
                    id=n,
                    file_name=f'{split_dir}/images/{osp.basename(image_path)}',
                    width=width,
                    height=height))
            for name, (x1, y1, x2, y2) in zip(labels, bboxes):
                w, h = x2 - x1, y2 - y1
                annotations.append(
                    dict(
                        id=len(annotations) + 1,
                        image_id=n,
                        category_id=class_ids[name],
                        bbox=[x1, y1, w, h],
                        area=w * h,
                        iscrowd=0))
        if on_image is not None:
            on_image()
    if skipped:
        logger.warning('%s: skipped %d image(s) with bad files, first: %s',
                       split_dir, len(skipped),
                       '; '.join(msg for _, msg in skipped[:3]))
    categories = [
        dict(id=i + 1, name=name) for i, name in enumerate(class_names)
    ]
    return dict(
        images=images, annotations=annotations, categories=categories), skipped


def coco_summary(coco: dict) -> Dict[str, object]:
    """Counts of a COCO dict.

    Args:
        coco (dict): The COCO dict.

    Returns:
        dict: ``images``, ``boxes`` and ``per_class`` (a Counter of names).
    """
    names = {c['id']: c['name'] for c in coco['categories']}
    return dict(
        images=len(coco['images']),
        boxes=len(coco['annotations']),
        per_class=Counter(names[a['category_id']]
                          for a in coco['annotations']))
