"""Per-image comparison of two detectors' predictions (error analysis).

Predictions are ``tools/test.py --out x.pkl`` dumps (mmengine
``DumpResults``): a list of dicts with ``img_id``, ``img_path`` and
``pred_instances`` = ``{'bboxes': (N, 4) x1y1x2y2, 'scores': (N,),
'labels': (N,)}`` as tensors or arrays. Per image, the detections above a
score threshold are matched greedily (highest score first) to unmatched
ground truth of the same class at IoU >= 0.5, as in the PASCAL VOC
protocol; the images are ranked by the difference of the two models' true
positives, then of their false positives.

A predictions file is a pickle, and unpickling runs whatever the file names.
:func:`load_predictions` therefore uses :class:`PredictionUnpickler`, which
admits only what such a file holds (tensors, numpy arrays, containers,
numbers, strings) and refuses everything else with an error naming the file.
"""
import io
import os.path as osp
import pickle
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..io import atomic_savefig


class PredictionFormatError(ValueError):
    """A predictions file is not a DumpResults list of dicts."""


def _array(value, shape_tail=()) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.size == 0:
        return arr.reshape((0, ) + tuple(shape_tail))
    return arr


def _tensor_from_bytes(data: bytes):
    """Stand-in for ``torch.storage._load_from_bytes``, which a pickled
    tensor names: the same bytes, read with ``weights_only=True``."""
    import torch
    return torch.load(io.BytesIO(data), weights_only=True)


class PredictionUnpickler(pickle.Unpickler):
    """An unpickler that builds only what a ``DumpResults`` file holds.

    Allowed: builtin containers, numbers and strings (which need no global),
    ``_codecs.encode`` (how protocol 2 stores bytes),
    ``collections.OrderedDict``, numpy arrays, dtypes and scalars, and torch
    tensors (rebuilt from their bytes with ``weights_only=True``). Any other
    global (a function, a class with ``__reduce__``, ``os.system``...) is
    refused before anything is called.
    """

    ALLOWED = {
        ('_codecs', 'encode'),  # bytes in protocol 2 pickles (mmengine)
        ('collections', 'OrderedDict'),
        ('numpy', 'ndarray'),
        ('numpy', 'dtype'),
        ('numpy.core.multiarray', '_reconstruct'),
        ('numpy.core.multiarray', 'scalar'),
        ('numpy._core.multiarray', '_reconstruct'),
        ('numpy._core.multiarray', 'scalar'),
        ('torch._utils', '_rebuild_tensor_v2'),
        ('torch', 'Size'),
    }

    def find_class(self, module: str, name: str):
        if (module, name) == ('torch.storage', '_load_from_bytes'):
            return _tensor_from_bytes
        if (module, name) in self.ALLOWED or (
                module == 'numpy.dtypes' and name.endswith('DType')):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'refused {module}.{name}: a predictions file holds tensors, '
            'arrays, lists, dicts, numbers and strings only')


def load_predictions(path: str) -> Dict[object, dict]:
    """``{img_id: {'img_path', 'bboxes', 'scores', 'labels'}}``.

    The file is read with :class:`PredictionUnpickler`: nothing in it runs.

    Raises:
        PredictionFormatError: Not a list of dicts with ``pred_instances``,
            or the pickle names a type a predictions file does not hold.
    """
    try:
        with open(path, 'rb') as f:
            data = PredictionUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError,
            AttributeError, IndexError) as e:
        raise PredictionFormatError(
            f'{path}: not read as a predictions file ({type(e).__name__}: '
            f'{e}); give a file written by tools/test.py --out') from e
    if not isinstance(data, list):
        raise PredictionFormatError(
            f'{path}: expected a list of dicts (tools/test.py --out), got '
            f'{type(data).__name__}')
    out = {}
    for i, item in enumerate(data):
        if not isinstance(item, dict) or 'pred_instances' not in item:
            raise PredictionFormatError(
                f'{path}: item {i} has no pred_instances (is it a detection '
                'dump of tools/test.py --out?)')
        pred = item['pred_instances']
        key = item.get('img_id', item.get('img_path'))
        out[key] = dict(
            img_path=item.get('img_path'),
            bboxes=_array(pred['bboxes'], (4, )).astype(np.float64),
            scores=_array(pred['scores']).astype(np.float64),
            labels=_array(pred['labels']).astype(np.int64))
    return out


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes ``a`` (N, 4) and ``b`` (M, 4), x1y1x2y2 in pixels.

    mmdet's :func:`~mmdet.structures.bbox.bbox_overlaps` (the one its
    assigners use), imported on the first call: the comparison tool has
    mmdet loaded anyway, and importing this module stays cheap.
    """
    import torch
    from mmdet.structures.bbox import bbox_overlaps
    ious = bbox_overlaps(
        torch.as_tensor(a, dtype=torch.float64).reshape(-1, 4),
        torch.as_tensor(b, dtype=torch.float64).reshape(-1, 4))
    return ious.numpy()


def match(pred: dict, gt_boxes: np.ndarray, gt_labels: np.ndarray,
          score_thr: float = 0.3, iou_thr: float = 0.5
          ) -> Tuple[np.ndarray, np.ndarray]:
    """Greedy matching of one image's detections.

    Returns:
        tuple[ndarray, ndarray]: Indices of the kept detections (score >=
        ``score_thr``, highest first) and whether each is a true positive.
    """
    keep = np.where(pred['scores'] >= score_thr)[0]
    keep = keep[np.argsort(-pred['scores'][keep], kind='stable')]
    ious = iou_matrix(pred['bboxes'][keep], gt_boxes)
    used = np.zeros(len(gt_boxes), dtype=bool)
    tp = np.zeros(len(keep), dtype=bool)
    for i, k in enumerate(keep):
        if not len(gt_boxes):
            break
        cand = np.where((gt_labels == pred['labels'][k]) & ~used)[0]
        if not len(cand):
            continue
        j = cand[np.argmax(ious[i, cand])]
        if ious[i, j] >= iou_thr:
            used[j], tp[i] = True, True
    return keep, tp


@dataclass
class ImageDiff:
    key: object
    img_path: str
    num_gt: int
    tp: Tuple[int, int]
    fp: Tuple[int, int]

    @property
    def score(self) -> Tuple[int, int]:
        return (abs(self.tp[0] - self.tp[1]), abs(self.fp[0] - self.fp[1]))


def rank_images(gt: Dict[object, dict], preds: Sequence[Dict[object, dict]],
                score_thr: float = 0.3,
                iou_thr: float = 0.5) -> List[ImageDiff]:
    """Images seen by both models, most different first.

    Args:
        gt (dict): ``{img_id: {'img_path', 'bboxes', 'labels'}}``.
        preds (list[dict]): Two outputs of :func:`load_predictions`.

    Raises:
        PredictionFormatError: The two files share no image with ``gt``.
    """
    keys = [k for k in gt if all(k in p for p in preds)]
    if not keys:
        raise PredictionFormatError(
            'the two prediction files and the data set share no image id '
            '(were they made with the same test set?)')
    out = []
    for key in keys:
        g = gt[key]
        tps, fps = [], []
        for p in preds:
            _, tp = match(p[key], g['bboxes'], g['labels'], score_thr,
                          iou_thr)
            tps.append(int(tp.sum()))
            fps.append(int((~tp).sum()))
        out.append(
            ImageDiff(key, g['img_path'], len(g['bboxes']), tuple(tps),
                      tuple(fps)))
    out.sort(key=lambda d: (-d.score[0], -d.score[1], str(d.key)))
    return out


def ground_truth_from_dataset(dataset) -> Dict[object, dict]:
    """``{img_id: {'img_path', 'bboxes', 'labels'}}`` of an mmdet dataset
    (ignored boxes left out)."""
    out = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        inst = [x for x in info.get('instances', [])
                if not x.get('ignore_flag', 0)]
        out[info['img_id']] = dict(
            img_path=info['img_path'],
            bboxes=np.asarray([x['bbox'] for x in inst],
                              dtype=np.float64).reshape(-1, 4),
            labels=np.asarray([x['bbox_label'] for x in inst],
                              dtype=np.int64))
    return out


def draw_pair(diff: ImageDiff, gt: dict, preds: Sequence[dict],
              names: Sequence[str], classes: Sequence[str], out: str,
              score_thr: float = 0.3, iou_thr: float = 0.5) -> str:
    """The image twice, side by side: ground truth (dashed white) and each
    model's detections (green: true positive, red: false positive)."""
    import matplotlib
    matplotlib.use('Agg', force=True)
    import matplotlib.pyplot as plt
    from PIL import Image

    image = np.asarray(Image.open(diff.img_path).convert('RGB'))
    h, w = image.shape[:2]
    fig, axes = plt.subplots(1, 2, figsize=(2 * max(4.0, w / 100), max(
        3.0, h / 100) + 0.6))
    try:
        for ax, pred, name, tp_n, fp_n in zip(axes, preds, names, diff.tp,
                                              diff.fp):
            ax.imshow(image)
            ax.set_axis_off()
            ax.set_title(f'{name}: {tp_n} TP, {fp_n} FP of {diff.num_gt} '
                         'GT', fontsize=9)
            for box in gt['bboxes']:
                ax.add_patch(
                    plt.Rectangle((box[0], box[1]), box[2] - box[0],
                                  box[3] - box[1], fill=False, ec='white',
                                  ls='--', lw=1.5))
            keep, tp = match(pred, gt['bboxes'], gt['labels'], score_thr,
                             iou_thr)
            for k, ok in zip(keep, tp):
                box, label = pred['bboxes'][k], int(pred['labels'][k])
                color = 'lime' if ok else 'red'
                ax.add_patch(
                    plt.Rectangle((box[0], box[1]), box[2] - box[0],
                                  box[3] - box[1], fill=False, ec=color,
                                  lw=1.2))
                text = classes[label] if label < len(classes) else label
                ax.text(box[0], box[1], f'{text} {pred["scores"][k]:.2f}',
                        color='black', fontsize=6,
                        bbox=dict(fc=color, alpha=0.6, pad=0.5, lw=0))
        fig.suptitle(osp.basename(diff.img_path), fontsize=9)
        return atomic_savefig(fig, out, dpi=100, bbox_inches='tight')
    finally:
        plt.close(fig)


def summary_csv(diffs: Sequence[ImageDiff], names: Sequence[str],
                files: Optional[Sequence[str]] = None) -> str:
    """CSV of the ranking: rank, image, GT count, TP and FP per model."""
    a, b = names
    lines = [f'rank,image,num_gt,tp_{a},tp_{b},fp_{a},fp_{b},figure']
    for i, d in enumerate(diffs):
        fig = files[i] if files and i < len(files) else ''
        lines.append(f'{i + 1},{d.img_path},{d.num_gt},{d.tp[0]},{d.tp[1]},'
                     f'{d.fp[0]},{d.fp[1]},{fig}')
    return '\n'.join(lines) + '\n'
