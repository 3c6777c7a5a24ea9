"""KITTI object labels: parsing, writing and conversion to COCO.

The label format is the one of the KITTI object development kit
(``devkit_object/readme.txt``): one object per line, 15 space-separated
fields, plus a 16th ``score`` field in result files::

    type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y [score]

Everything here is plain Python (no registries); the converter door
``tools/dataset_converters/kitti2coco.py`` and the tests call it directly.

The COCO files written by :func:`convert` keep what the official evaluation
needs next to the usual COCO fields:

* every annotation has ``kitti_type`` (the original class), ``truncated``,
  ``occluded``, ``alpha``, ``kitti_bbox`` (the exact ``x1 y1 x2 y2`` of the
  label) and ``kitti_line`` (its 1-based line number);
* ``DontCare`` regions become ignore regions: one ``iscrowd=1`` annotation
  (with ``ignore_flag=1``) per category, so that mmdet's ``CocoDataset`` sets
  ``ignore_flag`` (never a training target) and pycocotools ignores
  detections of any class inside them;
* every image has ``kitti_objects``: all parsed label lines in file order,
  including the ones not converted to annotations (``DontCare``, ``Misc``,
  classes not in ``classes``), which is what
  :class:`custom_modules.evaluation.KittiMetric` reads by image id.

Each frame's size is read from its image, which is checked to be complete;
a box beyond its image is an error naming the label file and line, as is a
malformed line, and a missing or unreadable image names the file. With
``skip_bad`` such lines and frames are skipped and counted instead.
"""
import json
import os
import os.path as osp
import random
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ..io import atomic_write_text, refuse_overwrite
from ..tables import markdown_table

#: The seven evaluated classes, in the fixed order of the project configs.
KITTI_CLASSES = ('Car', 'Van', 'Truck', 'Pedestrian', 'Person_sitting',
                 'Cyclist', 'Tram')
#: Every object type that may appear in a KITTI label file.
KITTI_TYPES = KITTI_CLASSES + ('Misc', 'DontCare')
DONTCARE = 'DontCare'
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg')


class KittiFormatError(ValueError):
    """A malformed line in a KITTI label file.

    Args:
        path (str): The label file.
        line_no (int): 1-based line number.
        reason (str): What is wrong with the line.
    """

    def __init__(self, path: str, line_no: int, reason: str) -> None:
        self.path = path
        self.line_no = line_no
        self.reason = reason
        super().__init__(
            f'{path}:{line_no}: {reason} (fix the line, or pass --skip-bad '
            'to skip and count malformed lines)')


class KittiImageError(ValueError):
    """The image of a labelled frame is missing or cannot be read.

    Args:
        path (str): The image (when it is missing, the ``.png`` looked
            for).
        label_path (str): The label file of the frame.
        reason (str): What is wrong, e.g. ``'missing'``.
    """

    def __init__(self, path: str, label_path: str, reason: str) -> None:
        self.path = path
        self.label_path = label_path
        self.reason = reason
        super().__init__(
            f'{path}: {reason}; it is the image of {label_path} (put the '
            'frame\'s complete image there, or pass --skip-bad to skip and '
            'count such frames)')


@dataclass
class KittiObject:
    """One line of a KITTI label (or result) file.

    Attributes:
        type (str): Object type, e.g. ``'Car'`` or ``'DontCare'``.
        truncated (float): Truncation in [0, 1] (-1 for DontCare).
        occluded (int): Occlusion state 0..3 (-1 for DontCare).
        alpha (float): Observation angle in [-pi, pi].
        bbox (tuple): ``(x1, y1, x2, y2)`` in pixels (0-based).
        dimensions (tuple): ``(h, w, l)`` in metres.
        location (tuple): ``(x, y, z)`` in camera coordinates.
        rotation_y (float): Rotation around the camera Y axis.
        score (float, optional): Detection score (result files only).
        line_no (int): 1-based line number in the file it came from.
    """
    type: str
    truncated: float
    occluded: int
    alpha: float
    bbox: Tuple[float, float, float, float]
    dimensions: Tuple[float, float, float] = (-1.0, -1.0, -1.0)
    location: Tuple[float, float, float] = (-1000.0, -1000.0, -1000.0)
    rotation_y: float = -10.0
    score: Optional[float] = None
    line_no: int = 0


@dataclass
class BadLine:
    """A malformed line skipped under ``skip_bad``."""
    path: str
    line_no: int
    reason: str


@dataclass
class BadImage:
    """A frame skipped under ``skip_bad``: its image is missing or
    unreadable (``path`` is the image, ``label_path`` its label file)."""
    path: str
    label_path: str
    reason: str


def parse_label_line(line: str,
                     path: str = '<string>',
                     line_no: int = 1) -> KittiObject:
    """Parse one KITTI label line.

    Args:
        line (str): The line (15 fields, or 16 with a score).
        path (str): File name for error messages. Defaults to '<string>'.
        line_no (int): 1-based line number for error messages.
            Defaults to 1.

    Returns:
        KittiObject: The parsed object.

    Raises:
        KittiFormatError: Wrong field count, a non-numeric value, an
            unknown class or an empty box (x2 <= x1 or y2 <= y1).
    """
    fields = line.split()
    if len(fields) not in (15, 16):
        raise KittiFormatError(
            path, line_no, f'expected 15 fields (16 with a score), '
            f'got {len(fields)}')
    obj_type = fields[0]
    if obj_type not in KITTI_TYPES:
        raise KittiFormatError(
            path, line_no, f'unknown class {obj_type!r}; expected one of '
            f'{", ".join(KITTI_TYPES)}')
    try:
        values = [float(v) for v in fields[1:]]
    except ValueError as err:
        raise KittiFormatError(path, line_no,
                               f'non-numeric field ({err})') from None
    if not float(values[1]).is_integer():
        raise KittiFormatError(
            path, line_no, f'occlusion must be an integer, got {fields[2]!r}')
    x1, y1, x2, y2 = values[3:7]
    if x2 <= x1:
        raise KittiFormatError(path, line_no,
                               f'empty box: x2 ({x2}) <= x1 ({x1})')
    if y2 <= y1:
        raise KittiFormatError(path, line_no,
                               f'empty box: y2 ({y2}) <= y1 ({y1})')
    return KittiObject(
        type=obj_type,
        truncated=values[0],
        occluded=int(values[1]),
        alpha=values[2],
        bbox=(x1, y1, x2, y2),
        dimensions=tuple(values[7:10]),
        location=tuple(values[10:13]),
        rotation_y=values[13],
        score=values[14] if len(values) == 15 else None,
        line_no=line_no)


def parse_label_file(
        path: str,
        skip_bad: bool = False,
        bad_lines: Optional[List[BadLine]] = None) -> List[KittiObject]:
    """Read a KITTI label (or result) file.

    Blank lines are skipped; an empty file is an image without objects.

    Args:
        path (str): The ``.txt`` file.
        skip_bad (bool): Skip malformed lines instead of raising.
            Defaults to False.
        bad_lines (list, optional): Receives a :class:`BadLine` for each
            skipped line when ``skip_bad`` is set.

    Returns:
        list[KittiObject]: The objects in file order.

    Raises:
        KittiFormatError: On the first malformed line, unless ``skip_bad``.
    """
    objects = []
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                objects.append(parse_label_line(line, path, line_no))
            except KittiFormatError as err:
                if not skip_bad:
                    raise
                if bad_lines is not None:
                    bad_lines.append(BadLine(path, line_no, err.reason))
    return objects


def format_label_line(obj: KittiObject) -> str:
    """Format an object as a KITTI line (16 fields when it has a score).

    Numbers have two decimals, as in the KITTI labels; the placeholder
    fields of DontCare regions are written as the devkit writes them
    (``-1 -1 -10 ... -1 -1 -1 -1000 -1000 -1000 -10``).

    Args:
        obj (KittiObject): The object.

    Returns:
        str: The line, without a newline.
    """

    def num(v: float, placeholder: bool = False) -> str:
        if placeholder and obj.type == DONTCARE and float(v).is_integer():
            return str(int(v))
        return f'{v:.2f}'

    fields = [
        obj.type,
        num(obj.truncated, True), f'{int(obj.occluded)}',
        num(obj.alpha, True), *(num(v) for v in obj.bbox),
        *(num(v, True) for v in obj.dimensions),
        *(num(v, True) for v in obj.location),
        num(obj.rotation_y, True)
    ]
    if obj.score is not None:
        fields.append(f'{obj.score:.4f}')
    return ' '.join(fields)


def write_label_file(path: str, objects: Iterable[KittiObject]) -> None:
    """Write a KITTI label or result file atomically.

    Args:
        path (str): Destination ``.txt`` file.
        objects (Iterable[KittiObject]): The objects, one line each.
    """
    text = ''.join(format_label_line(obj) + '\n' for obj in objects)
    atomic_write_text(path, text)


def split_image_ids(image_ids: Sequence[int], val_ratio: float,
                    seed: int) -> Tuple[List[int], List[int]]:
    """Split image ids by a seeded shuffle.

    The ids are sorted first, so the split depends only on the set of ids,
    ``val_ratio`` and ``seed``; the two parts are disjoint and cover all.

    Args:
        image_ids (Sequence[int]): Image ids.
        val_ratio (float): Fraction in [0, 1) that goes to ``val``.
        seed (int): Seed of the shuffle.

    Returns:
        tuple[list[int], list[int]]: Sorted train ids and sorted val ids.
    """
    if not 0 <= val_ratio < 1:
        raise ValueError(f'val_ratio must be in [0, 1), got {val_ratio}')
    ids = sorted(image_ids)
    random.Random(seed).shuffle(ids)
    num_val = int(round(len(ids) * val_ratio))
    return sorted(ids[num_val:]), sorted(ids[:num_val])


def object_to_dict(obj: KittiObject) -> dict:
    """The per-object fields kept in ``images[i]['kitti_objects']``."""
    return dict(
        type=obj.type,
        truncated=obj.truncated,
        occluded=obj.occluded,
        alpha=obj.alpha,
        bbox=list(obj.bbox),
        line=obj.line_no)


def target_category(obj_type: str, classes: Sequence[str],
                    merge_person: bool) -> Optional[str]:
    """The category an object trains as, or None when it is not a target.

    Args:
        obj_type (str): KITTI type of the object.
        classes (Sequence[str]): Categories kept.
        merge_person (bool): Map ``Person_sitting`` to ``Pedestrian``.

    Returns:
        str or None: The category name, None for DontCare and for types not
        in ``classes``.
    """
    if obj_type == DONTCARE:
        return None
    if merge_person and obj_type == 'Person_sitting':
        obj_type = 'Pedestrian'
    return obj_type if obj_type in classes else None


def categories_for(classes: Sequence[str], merge_person: bool) -> List[str]:
    """The category names of the COCO file, in the order of ``classes``."""
    names = [
        c for c in classes if not (merge_person and c == 'Person_sitting')
    ]
    if len(set(names)) != len(names):
        raise ValueError(f'classes has duplicates: {list(classes)}')
    for name in names:
        if name not in KITTI_TYPES or name == DONTCARE:
            raise ValueError(
                f'unknown class {name!r} in classes; choose from '
                f'{", ".join(t for t in KITTI_TYPES if t != DONTCARE)} '
                '(DontCare is always kept as an ignore region)')
    return names


@dataclass
class KittiSample:
    """One labelled image: its id, file name, size and objects."""
    image_id: int
    file_name: str
    width: int
    height: int
    objects: List[KittiObject]


def build_coco(samples: Sequence[KittiSample],
               classes: Sequence[str] = KITTI_CLASSES,
               merge_person: bool = False) -> dict:
    """Build a COCO detection dict from KITTI samples.

    Args:
        samples (Sequence[KittiSample]): The images of one split.
        classes (Sequence[str]): Categories, in order (ids 1..K).
            Defaults to :data:`KITTI_CLASSES`.
        merge_person (bool): Map ``Person_sitting`` to ``Pedestrian``.
            Defaults to False.

    Returns:
        dict: COCO dict with ``images``, ``annotations``, ``categories``
        and the KITTI extra fields described in the module docstring.
    """
    names = categories_for(classes, merge_person)
    cat_ids = {name: i + 1 for i, name in enumerate(names)}
    images, annotations = [], []
    for sample in sorted(samples, key=lambda s: s.image_id):
        images.append(
            dict(
                id=sample.image_id,
                file_name=sample.file_name,
                width=sample.width,
                height=sample.height,
                kitti_objects=[object_to_dict(o) for o in sample.objects]))
        for obj in sample.objects:
            if obj.type == DONTCARE:
                # one ignore region per category: COCO crowd regions only
                # ignore detections of their own category
                targets, crowd = names, 1
            else:
                category = target_category(obj.type, names, merge_person)
                targets, crowd = ([] if category is None else [category]), 0
            x1, y1, x2, y2 = obj.bbox
            w, h = x2 - x1, y2 - y1
            for name in targets:
                annotations.append(
                    dict(
                        id=len(annotations) + 1,
                        image_id=sample.image_id,
                        category_id=cat_ids[name],
                        bbox=[x1, y1, w, h],
                        area=w * h,
                        iscrowd=crowd,
                        ignore_flag=crowd,
                        kitti_type=obj.type,
                        truncated=obj.truncated,
                        occluded=obj.occluded,
                        alpha=obj.alpha,
                        kitti_bbox=[x1, y1, x2, y2],
                        kitti_line=obj.line_no))
    return dict(
        info=dict(description='KITTI object detection (2D), converted by '
                  'tools/dataset_converters/kitti2coco.py'),
        images=images,
        annotations=annotations,
        categories=[
            dict(id=cat_ids[name], name=name, supercategory='kitti')
            for name in names
        ])


def image_id_from_stem(stem: str) -> int:
    """KITTI frame ``'000123'`` -> image id 123."""
    if not stem.isdigit():
        raise ValueError(f'KITTI frame names are numbers, got {stem!r}')
    return int(stem)


def read_image_size(path: str) -> Tuple[int, int]:
    """Width and height of an image whose data are complete.

    A PNG is checked without decoding: Pillow's ``verify`` walks its chunks
    to the end and checks their CRCs (a truncated KITTI frame fails, at a
    seventh of the cost of decoding it); other formats are decoded.

    Args:
        path (str): The image.

    Returns:
        tuple[int, int]: ``(width, height)``.

    Raises:
        OSError, SyntaxError, ValueError: Not an image, or truncated or
            corrupt (Pillow's errors).
    """
    from PIL import Image
    with Image.open(path) as img:
        size = img.size
        if img.format == 'PNG':
            img.verify()
        else:
            img.load()
    return size


def check_inside_image(objects: Sequence[KittiObject],
                       label_path: str,
                       image_path: str,
                       size: Tuple[int, int],
                       skip_bad: bool = False,
                       bad_lines: Optional[List[BadLine]] = None
                       ) -> List[KittiObject]:
    """The objects whose box lies inside the image ``[0, W] x [0, H]``.

    KITTI boxes are clipped to the image (0-based pixels, at most ``W - 1``
    and ``H - 1``), so a box beyond it belongs to another frame or image.

    Args:
        objects (Sequence[KittiObject]): The objects of ``label_path``.
        label_path (str): Their label file, for the messages.
        image_path (str): The image, for the messages.
        size (tuple[int, int]): Its ``(width, height)``, read from the
            file.
        skip_bad (bool): Skip such boxes instead of raising. Defaults to
            False.
        bad_lines (list, optional): Receives a :class:`BadLine` for each
            skipped box when ``skip_bad`` is set.

    Returns:
        list[KittiObject]: The objects inside, in order.

    Raises:
        KittiFormatError: A box outside the image, unless ``skip_bad``.
    """
    width, height = size
    kept = []
    for obj in objects:
        x1, y1, x2, y2 = obj.bbox
        if x1 >= 0 and y1 >= 0 and x2 <= width and y2 <= height:
            kept.append(obj)
            continue
        reason = (f'box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) lies outside its '
                  f'image {osp.basename(image_path)} ({width} x {height} '
                  'px, read from the file)')
        if not skip_bad:
            raise KittiFormatError(label_path, obj.line_no, reason)
        if bad_lines is not None:
            bad_lines.append(BadLine(label_path, obj.line_no, reason))
    return kept


def _find_image(image_dir: str, stem: str) -> Optional[str]:
    for ext in IMAGE_EXTENSIONS:
        path = osp.join(image_dir, stem + ext)
        if osp.isfile(path):
            return path
    return None


def read_frame(label_path: str,
               image_dir: str,
               skip_bad: bool = False,
               bad_lines: Optional[List[BadLine]] = None) -> KittiSample:
    """One labelled frame: its label file and its image's size.

    Args:
        label_path (str): ``label_2/<frame>.txt``.
        image_dir (str): The ``image_2`` folder.
        skip_bad (bool): Skip malformed lines and boxes outside the image
            (counted in ``bad_lines``). Defaults to False.
        bad_lines (list, optional): Receives the skipped lines.

    Returns:
        KittiSample: The frame.

    Raises:
        KittiImageError: The image is missing or unreadable (also under
            ``skip_bad``: the caller skips the frame).
        KittiFormatError: A malformed line or a box outside the image,
            unless ``skip_bad``.
    """
    stem = osp.splitext(osp.basename(label_path))[0]
    image_path = _find_image(image_dir, stem)
    if image_path is None:
        raise KittiImageError(
            osp.join(image_dir, stem + '.png'), label_path,
            f'missing (no {stem}{{{",".join(IMAGE_EXTENSIONS)}}} in '
            f'{image_dir})')
    try:
        size = read_image_size(image_path)
    except (OSError, SyntaxError, ValueError) as err:
        raise KittiImageError(
            image_path, label_path,
            f'unreadable image ({type(err).__name__}: {err})') from None
    objects = parse_label_file(
        label_path, skip_bad=skip_bad, bad_lines=bad_lines)
    objects = check_inside_image(objects, label_path, image_path, size,
                                 skip_bad, bad_lines)
    return KittiSample(
        image_id=image_id_from_stem(stem),
        file_name=osp.basename(image_path),
        width=size[0],
        height=size[1],
        objects=objects)


def convert(kitti_root: str,
            out_dir: str,
            val_ratio: float = 0.2,
            seed: int = 0,
            classes: Sequence[str] = KITTI_CLASSES,
            merge_person: bool = False,
            force: bool = False,
            skip_bad: bool = False,
            progress: Optional[Callable[[Iterable], Iterable]] = None) -> dict:
    """Convert ``KITTI_ROOT/training`` into ``train.json`` and ``val.json``.

    Args:
        kitti_root (str): Folder holding ``training/label_2`` and
            ``training/image_2``.
        out_dir (str): Where ``train.json`` and ``val.json`` are written.
        val_ratio (float): Fraction of images in ``val``. Defaults to 0.2.
        seed (int): Seed of the split shuffle. Defaults to 0.
        classes (Sequence[str]): Categories, in order. Types not listed
            (e.g. ``Misc``) are dropped and counted. Defaults to
            :data:`KITTI_CLASSES`.
        merge_person (bool): Map ``Person_sitting`` to ``Pedestrian``.
            Defaults to False.
        force (bool): Overwrite existing outputs. Defaults to False.
        skip_bad (bool): Skip and count malformed label lines, boxes
            outside their image and frames whose image is missing or
            unreadable instead of raising. Defaults to False.
        progress (callable, optional): Wraps the iterable of label files,
            e.g. ``tqdm``.

    Returns:
        dict: Summary with ``files`` (split -> path), ``splits``
        (split -> ``images``, ``boxes`` per category, ``ignore_regions``),
        ``dropped`` (type -> count of boxes not converted), ``bad_lines``
        (list of :class:`BadLine`), ``bad_images`` (list of
        :class:`BadImage`, the skipped frames) and ``unlabeled_images``.

    Raises:
        FileNotFoundError: Missing label folder, or no label file.
        FileExistsError: An output exists and ``force`` is not set.
        KittiFormatError: A malformed line or a box outside its image, and
            ``skip_bad`` is not set.
        KittiImageError: A frame's image is missing or unreadable, and
            ``skip_bad`` is not set.
        ValueError: No frame left to convert.
    """
    names = categories_for(classes, merge_person)
    if not 0 <= val_ratio < 1:
        raise ValueError(f'--val-ratio must be in [0, 1), got {val_ratio}')
    label_dir = osp.join(kitti_root, 'training', 'label_2')
    image_dir = osp.join(kitti_root, 'training', 'image_2')
    for folder in (label_dir, image_dir):
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'{folder} not found: KITTI_ROOT must hold '
                'training/label_2 and training/image_2')
    files = {
        split: osp.join(out_dir, f'{split}.json')
        for split in ('train', 'val')
    }
    refuse_overwrite(files.values(), force)

    label_files = sorted(
        f for f in os.listdir(label_dir) if f.endswith('.txt'))
    if not label_files:
        raise FileNotFoundError(f'no .txt label files in {label_dir}')
    iterator = progress(label_files) if progress else label_files
    samples: Dict[int, KittiSample] = {}
    bad_lines: List[BadLine] = []
    bad_images: List[BadImage] = []
    for name in iterator:
        try:
            sample = read_frame(
                osp.join(label_dir, name), image_dir, skip_bad, bad_lines)
        except KittiImageError as err:
            if not skip_bad:
                raise
            bad_images.append(BadImage(err.path, err.label_path, err.reason))
            continue
        samples[sample.image_id] = sample
    if not samples:
        raise ValueError(f'no frame of {label_dir} could be converted '
                         f'({len(bad_images)} skipped: image missing or '
                         'unreadable)')
    labelled = {osp.splitext(n)[0] for n in label_files}
    unlabeled = sorted(
        f for f in os.listdir(image_dir)
        if osp.splitext(f)[1].lower() in IMAGE_EXTENSIONS
        and osp.splitext(f)[0] not in labelled)

    train_ids, val_ids = split_image_ids(list(samples), val_ratio, seed)
    summary = dict(
        files=files,
        classes=names,
        splits={},
        dropped={},
        bad_lines=bad_lines,
        bad_images=bad_images,
        unlabeled_images=len(unlabeled))
    dropped: Counter = Counter()
    texts = {}
    for split, ids in (('train', train_ids), ('val', val_ids)):
        split_samples = [samples[i] for i in ids]
        coco = build_coco(split_samples, names, merge_person)
        boxes = Counter()
        ignore_regions = 0
        for sample in split_samples:
            for obj in sample.objects:
                if obj.type == DONTCARE:
                    ignore_regions += 1
                    continue
                category = target_category(obj.type, names, merge_person)
                if category is None:
                    dropped[obj.type] += 1
                else:
                    boxes[category] += 1
        summary['splits'][split] = dict(
            images=len(split_samples),
            boxes={name: boxes[name]
                   for name in names},
            ignore_regions=ignore_regions)
        texts[split] = json.dumps(coco)
    summary['dropped'] = dict(sorted(dropped.items()))
    # both files are complete in memory before either is replaced
    for split, text in texts.items():
        atomic_write_text(files[split], text)
    return summary


def format_summary(summary: dict) -> str:
    """A Markdown table of images and boxes per class and split.

    Args:
        summary (dict): What :func:`convert` returns.

    Returns:
        str: The table and the counts of dropped boxes and skipped lines.
    """
    splits = list(summary['splits'])
    columns = ['', *splits, 'total']
    counts = [('images', [summary['splits'][s]['images'] for s in splits])]
    counts += [(name, [summary['splits'][s]['boxes'][name] for s in splits])
               for name in summary['classes']]
    counts.append(('DontCare (ignore regions)',
                   [summary['splits'][s]['ignore_regions'] for s in splits]))
    rows = [
        dict(zip(columns, [label, *values, sum(values)]))
        for label, values in counts
    ]
    lines = [markdown_table(rows, columns)]
    dropped = summary['dropped']
    lines.append('dropped boxes (type not in --classes): ' + (', '.join(
        f'{k} {v}' for k, v in dropped.items()) if dropped else 'none'))
    bad = summary['bad_lines']
    lines.append(f'skipped malformed lines: {len(bad)}')
    for b in bad[:20]:
        lines.append(f'  {b.path}:{b.line_no}: {b.reason}')
    if len(bad) > 20:
        lines.append(f'  ... and {len(bad) - 20} more')
    skipped = summary.get('bad_images', [])
    lines.append('skipped frames (image missing or unreadable): '
                 f'{len(skipped)}')
    for b in skipped[:20]:
        lines.append(f'  {b.path}: {b.reason}')
    if len(skipped) > 20:
        lines.append(f'  ... and {len(skipped) - 20} more')
    if summary.get('unlabeled_images'):
        lines.append(f'images without a label file (not converted): '
                     f'{summary["unlabeled_images"]}')
    return '\n'.join(lines)


def cfg_options(data_root: str, ann_dir: str) -> List[str]:
    """``--cfg-options`` that point a KITTI config (``configs/kitti/``) at a
    KITTI root and the COCO files ``kitti2coco.py`` wrote: the train split
    for training, the val split for validation and test, in both metrics
    (``CocoMetric``, ``KittiMetric``).

    Args:
        data_root (str): The KITTI root holding ``training/image_2``.
        ann_dir (str): The folder of ``train.json`` and ``val.json``; made
            absolute, since mmengine joins a relative ``ann_file`` to the
            data root.

    Returns:
        list[str]: ``key=value`` options.
    """
    data_root, ann_dir = data_root.rstrip('/'), osp.abspath(ann_dir)
    opts = []
    for loader, split in (('train_dataloader', 'train'),
                          ('val_dataloader', 'val'),
                          ('test_dataloader', 'val')):
        opts += [
            f'{loader}.dataset.data_root={data_root}/',
            f'{loader}.dataset.ann_file={ann_dir}/{split}.json'
        ]
    for evaluator in ('val_evaluator', 'test_evaluator'):
        for i in (0, 1):  # CocoMetric, KittiMetric
            opts.append(f'{evaluator}.{i}.ann_file={ann_dir}/val.json')
    return opts
