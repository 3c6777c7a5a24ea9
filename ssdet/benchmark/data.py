"""Data-side benchmarks: the train pipelines alone, and converter scaling.

- :func:`write_samples` draws images with the synthetic generator
  (:func:`ssdet.data.synthetic.render_image`) and returns the
  data infos a dataset would yield for them (with boxes, for detection).
- :func:`build_pipeline` builds a config's train pipeline under its
  ``default_scope``; :class:`SwAVTorchvisionMultiCrop` is the multi-crop
  transform of facebookresearch/swav (``src/multicropdataset.py``:
  ``MultiCropDataset`` with ``get_color_distortion`` and the cv2
  ``RandomGaussianBlur``), with the crops read from the config, so that the
  two can be timed on the same files.
- :func:`nuimages_case` and :func:`kitti_case` generate inputs of a given
  size for the nuImages extractor and the KITTI converter.
"""
import copy
import io
import os
import os.path as osp
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from mmengine.registry import DefaultScope

from ..io import atomic_save_image, atomic_write_bytes

#: The ImageNet statistics of facebookresearch/swav's ``MultiCropDataset``.
SWAV_MEAN = (0.485, 0.456, 0.406)
SWAV_STD = (0.228, 0.224, 0.225)
#: The multi-view steps whose crops :func:`multicrop_spec` reads.
MULTIVIEW_TYPES = ('MultiView', 'DecodeOnceMultiView')


def write_samples(out_dir: str,
                  num: int,
                  size: Tuple[int, int] = (192, 256),
                  seed: int = 0,
                  ext: str = '.jpg',
                  quality: int = 90) -> List[dict]:
    """Write ``num`` synthetic images and return their data infos.

    Args:
        out_dir (str): Folder to write ``bench_XXXX<ext>`` into.
        num (int): Number of images.
        size (tuple[int, int]): ``(h, w)``. Defaults to ``(192, 256)``.
        seed (int): Seed of the drawing. Defaults to 0.
        ext (str): ``'.jpg'`` or ``'.png'``. Defaults to ``'.jpg'``.
        quality (int): JPEG quality. Defaults to 90.

    Returns:
        list[dict]: ``img_path``, ``img_id``, ``height``, ``width``,
        ``instances`` (``bbox`` x1 y1 x2 y2, ``bbox_label``,
        ``ignore_flag``; at least one box per image), ``seg_map_path``.
    """
    from ..data.synthetic import render_image
    h, w = size
    samples = []
    for i in range(num):
        drawn = render_image(h, w, np.random.default_rng([seed, i]))
        path = osp.join(out_dir, f'bench_{i:04d}{ext}')
        params = dict(quality=quality) if ext in ('.jpg', '.jpeg') else {}
        atomic_save_image(path, drawn.image, fsync=False, **params)
        instances = [
            dict(
                bbox=[x, y, x + bw, y + bh],
                bbox_label=int(obj['label']),
                ignore_flag=0) for obj in drawn.objects
            for x, y, bw, bh in [obj['bbox']]
        ]
        if not instances:
            instances = [
                dict(
                    bbox=[w * 0.25, h * 0.25, w * 0.75, h * 0.75],
                    bbox_label=0,
                    ignore_flag=0)
            ]
        samples.append(
            dict(
                img_path=path,
                img_id=i,
                height=h,
                width=w,
                seg_map_path=None,
                instances=instances))
    return samples


def real_samples(folder: str,
                 out_dir: str,
                 num: Optional[int] = None,
                 ext: Optional[str] = None,
                 quality: int = 90) -> List[dict]:
    """The images of a folder as data infos, optionally re-encoded.

    Args:
        folder (str): A folder of images (``.png``, ``.jpg``, ``.jpeg``,
            any case; not recursive), taken in sorted order.
        out_dir (str): Where re-encoded copies are written.
        num (int, optional): Take the first ``num``; None takes all.
            Defaults to None.
        ext (str, optional): ``'.jpg'`` re-encodes every image as a JPEG of
            ``quality`` (RGB), ``'.png'`` as a PNG; None uses the files as
            they are. Defaults to None.
        quality (int): JPEG quality of the re-encoding. Defaults to 90.

    Returns:
        list[dict]: ``img_path`` (the file or its copy), ``img_id``,
        ``height``, ``width``.

    Raises:
        FileNotFoundError: ``folder`` is missing or holds no image.
    """
    from PIL import Image

    from custom_modules.datasets.unlabeled import IMAGE_EXTENSIONS
    if not osp.isdir(folder):
        raise FileNotFoundError(f'--images {folder}: no such folder')
    names = sorted(n for n in os.listdir(folder)
                   if n.lower().endswith(IMAGE_EXTENSIONS))[:num]
    if not names:
        raise FileNotFoundError(
            f'--images {folder}: no {"/".join(IMAGE_EXTENSIONS)} file in it')
    samples = []
    for i, name in enumerate(names):
        path = osp.join(folder, name)
        with Image.open(path) as img:
            width, height = img.size
            if ext is not None:
                params = dict(quality=quality) if ext == '.jpg' else {}
                path = atomic_save_image(
                    osp.join(out_dir, osp.splitext(name)[0] + ext),
                    img.convert('RGB'),
                    fsync=False,
                    **params)
        samples.append(
            dict(img_path=path, img_id=i, height=height, width=width))
    return samples


def train_pipeline_cfg(cfg: Config) -> List[dict]:
    """The train pipeline of a config (through dataset wrappers)."""
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset.dataset
    if 'pipeline' not in dataset:
        raise KeyError(f'{cfg.filename}: train_dataloader.dataset has no '
                       'pipeline')
    return copy.deepcopy(list(dataset.pipeline))


def build_pipeline(cfg: Config, pipeline_cfg: Sequence[dict]) -> Callable:
    """Build transforms under the config's ``default_scope``."""
    from mmengine.dataset import Compose
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        return Compose(copy.deepcopy(list(pipeline_cfg)))


def _type_name(step: dict) -> str:
    name = step.get('type', '')
    return name.split('.')[-1] if isinstance(name, str) else name.__name__


def multicrop_spec(
    pipeline_cfg: Sequence[dict]
) -> Optional[List[Tuple[int, int, Tuple[float, float]]]]:
    """The crops of a ``MultiView`` (or ``DecodeOnceMultiView``) pipeline.

    Args:
        pipeline_cfg (Sequence[dict]): A train pipeline.

    Returns:
        list or None: ``(number, size, scale)`` per crop group, e.g.
        ``[(2, 224, (0.14, 1.0)), (6, 96, (0.05, 0.14))]``; None without a
        ``MultiView`` step.
    """
    for step in pipeline_cfg:
        if _type_name(step) not in MULTIVIEW_TYPES:
            continue
        num_views = step['num_views']
        groups = step['transforms']
        if isinstance(num_views, int):
            num_views = [num_views] * len(groups)
        spec = []
        for number, group in zip(num_views, groups):
            crop = _find_crop(group)
            if crop is None:
                raise ValueError('a MultiView group without '
                                 f'RandomResizedCrop: {group}')
            size = crop['size']
            size = size[0] if isinstance(size, (list, tuple)) else size
            scale = tuple(crop.get('scale', (0.08, 1.0)))
            spec.append((int(number), int(size), scale))
        return spec
    return None


def _find_crop(steps: Any) -> Optional[dict]:
    if isinstance(steps, dict):
        if _type_name(steps) == 'RandomResizedCrop':
            return steps
        return _find_crop(steps.get('transforms', []))
    if isinstance(steps, (list, tuple)):
        for step in steps:
            found = _find_crop(step)
            if found is not None:
                return found
    return None


class _SwAVCV2GaussianBlur:
    """``RandomGaussianBlur`` of facebookresearch/swav: p=0.5, 23x23 kernel,
    sigma uniform in [0.1, 2.0], with cv2; returns an array when applied."""

    def __call__(self, img):
        import cv2
        if not np.random.rand() > 0.5:
            return img
        sigma = np.random.rand() * 1.9 + 0.1
        return cv2.GaussianBlur(np.asarray(img), (23, 23), sigma)


class SwAVTorchvisionMultiCrop:
    """facebookresearch/swav's multi-crop transform, on an image file.

    ``MultiCropDataset.__getitem__`` of ``src/multicropdataset.py``: the PIL
    loader of ``ImageFolder``, then for each crop RandomResizedCrop,
    RandomHorizontalFlip(0.5), ColorJitter(0.8, 0.8, 0.8, 0.2) with p=0.8,
    RandomGrayscale(0.2), the cv2 Gaussian blur (p=0.5), ToTensor and
    Normalize.

    Args:
        spec (list): ``(number, size, scale)`` per crop group
            (:func:`multicrop_spec`).
    """

    def __init__(self, spec: Sequence[Tuple[int, int, Tuple[float, float]]]):
        from torchvision import transforms as T
        color = T.Compose([
            T.Compose([
                T.RandomApply([T.ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8),
                T.RandomGrayscale(p=0.2)
            ]),
            _SwAVCV2GaussianBlur()
        ])
        self.transforms = []
        for number, size, scale in spec:
            self.transforms.extend([
                T.Compose([
                    T.RandomResizedCrop(size, scale=scale),
                    T.RandomHorizontalFlip(p=0.5), color,
                    T.ToTensor(),
                    T.Normalize(mean=SWAV_MEAN, std=SWAV_STD)
                ])
            ] * number)

    def __call__(self, path: str) -> list:
        from PIL import Image
        with open(path, 'rb') as f:
            image = Image.open(f).convert('RGB')
        return [t(image) for t in self.transforms]


def preprocessor_call(cfg: Config, pipeline: Callable,
                      samples: Sequence[dict], batch_size: int,
                      device: str) -> Callable[[], Any]:
    """One batch through the config's model ``data_preprocessor`` (e.g.
    ``MultiViewGPUPreprocessor``: decode and views on ``device``).

    The pipeline (reading and packing the files) runs once, before; each
    call runs the data preprocessor on the ``pseudo_collate``-d batch of
    ``batch_size`` samples (the files cycled).
    """
    from mmengine.dataset import pseudo_collate
    from mmselfsup.registry import MODELS
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        preprocessor = MODELS.build(copy.deepcopy(
            cfg.model.data_preprocessor)).to(device)
    call = pipeline_call(pipeline, cfg.filename)
    batch = pseudo_collate(
        [call(samples[i % len(samples)]) for i in range(batch_size)])
    return lambda: preprocessor(batch, True)


def cycle_calls(fn: Callable[[Any], Any],
                items: Sequence[Any]) -> Callable[[], Any]:
    """A no-argument callable that applies ``fn`` to the next item."""
    state = dict(i=0)

    def call():
        item = items[state['i'] % len(items)]
        state['i'] += 1
        return fn(item)

    return call


def pipeline_call(pipeline: Callable, name: str) -> Callable[[dict], Any]:
    """Run a pipeline on a copy of a data info; a dropped sample is an
    error naming the file."""

    def call(info: dict):
        result = pipeline(copy.deepcopy(info))
        if result is None:
            raise RuntimeError(f'{name}: the pipeline dropped '
                               f'{info.get("img_path")}')
        return result

    return call


# --------------------------------------------------------------- scaling
def nuimages_case(root: str,
                  num_samples: int,
                  seed: int = 0) -> Tuple[Callable[[], Any], int]:
    """A nuImages root with ``num_samples`` samples and its extraction.

    Tables only (``check_files=False``): the time is the streaming parse of
    ``sample_data.json`` and the selection.

    Returns:
        tuple: The extraction (a callable) and the ``sample_data`` rows.
    """
    from ..data.nuimages import make_fake_tables, select_images
    info = make_fake_tables(root, num_samples, seed=seed)

    def run():
        return select_images(root, check_files=False)

    return run, int(info['rows'])


#: One KITTI label file of the object devkit format (a real-looking mix:
#: cars, a pedestrian, a cyclist, Misc and a DontCare region).
KITTI_LABEL_LINES = (
    'Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 '
    '46.70 -1.59',
    'Car 0.00 1 1.85 388.16 181.34 450.26 214.22 1.52 1.62 4.25 -7.99 1.82 '
    '35.59 1.63',
    'Van 0.00 0 -1.64 560.56 167.81 583.05 185.41 2.18 1.89 4.85 -1.33 1.49 '
    '66.75 -1.66',
    'Pedestrian 0.00 0 -0.20 712.40 143.00 810.73 307.92 1.89 0.48 1.20 1.84 '
    '1.47 8.41 0.01',
    'Cyclist 0.00 2 1.93 334.52 176.99 382.31 238.02 1.73 0.57 1.76 -8.11 '
    '1.69 24.38 1.61',
    'Misc 0.00 0 -1.46 608.98 170.37 629.57 193.06 1.62 1.62 3.20 0.35 1.69 '
    '56.91 -1.45',
    'DontCare -1 -1 -10.00 503.89 169.71 590.61 190.13 -1 -1 -1 -1000.00 '
    '-1000.00 -1000.00 -10.00',
    'DontCare -1 -1 -10.00 511.35 174.96 527.81 187.45 -1 -1 -1 -1000.00 '
    '-1000.00 -1000.00 -10.00',
)


def kitti_case(root: str, num_frames: int) -> Tuple[Callable[[], Any], int]:
    """A KITTI ``training/`` folder with ``num_frames`` frames and its
    conversion to COCO.

    Each frame has the label file :data:`KITTI_LABEL_LINES` and a black
    1242 x 375 PNG (the converter reads only its header).

    Returns:
        tuple: The conversion (a callable, writing ``<root>/annotations``
        with ``force=True``) and the number of label lines.
    """
    from PIL import Image

    from ..data.kitti import convert
    label_dir = osp.join(root, 'training', 'label_2')
    image_dir = osp.join(root, 'training', 'image_2')
    buf = io.BytesIO()
    Image.new('RGB', (1242, 375)).save(buf, 'PNG')
    png = buf.getvalue()
    text = ('\n'.join(KITTI_LABEL_LINES) + '\n').encode()
    for i in range(num_frames):
        atomic_write_bytes(
            osp.join(label_dir, f'{i:06d}.txt'), text, fsync=False)
        atomic_write_bytes(
            osp.join(image_dir, f'{i:06d}.png'), png, fsync=False)
    out_dir = osp.join(root, 'annotations')

    def run():
        return convert(root, out_dir, force=True)

    return run, num_frames * len(KITTI_LABEL_LINES)


def scaling_cases(work_dir: str, which: Sequence[str], base: Dict[str, int],
                  scales: Sequence[int]) -> Dict[str, Dict[int, tuple]]:
    """Generate the inputs of each converter at each scale.

    Args:
        work_dir (str): Scratch folder.
        which (Sequence[str]): ``'nuimages'`` and/or ``'kitti'``.
        base (dict): Size at 1x: nuImages samples, KITTI frames.
        scales (Sequence[int]): Multiples of the base size, e.g. 1 4 16.

    Returns:
        dict: ``{converter: {scale: (callable, items)}}``.
    """
    makers = dict(nuimages=nuimages_case, kitti=kitti_case)
    cases: Dict[str, Dict[int, tuple]] = {}
    for name in which:
        if name not in makers:
            raise ValueError(f'unknown converter {name!r}; choose from '
                             f'{sorted(makers)}')
        cases[name] = {
            scale:
            makers[name](osp.join(work_dir, f'{name}_x{scale}'),
                         base[name] * scale)
            for scale in scales
        }
    return cases
