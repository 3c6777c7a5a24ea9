"""KITTI 2D detection metric for mmdet: the paper table, the official devkit
numbers and COCO AP from the same detections.

The computations live in :mod:`custom_modules.evaluation.kitti_eval` (pure
functions); this module only gathers predictions, reads the per-box KITTI
fields (truncation, occlusion, original class, DontCare regions) from the
COCO file written by ``tools/dataset_converters/kitti2coco.py`` by image
id, logs the tables and returns flat keys.
"""
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.fileio import load
from mmengine.logging import MMLogger

from .kitti_eval import DIFFICULTIES, format_table, kitti_eval


def gt_annos_from_coco(coco: dict) -> Dict[int, dict]:
    """Per-image ground truth for :func:`kitti_eval` from a COCO dict.

    Uses ``images[i]['kitti_objects']`` (every label line in file order,
    DontCare included) when present, with each object's category taken
    from its annotation (matched by ``kitti_line``). A plain COCO file
    without KITTI fields also works: its boxes become objects of their
    category with truncation 0 and occlusion 0, and its crowd boxes
    DontCare regions.

    Args:
        coco (dict): The loaded COCO file.

    Returns:
        dict[int, dict]: Image id -> ground truth with ``name``,
        ``category``, ``bbox``, ``truncated`` and ``occluded``.
    """
    cat_names = {c['id']: c['name'] for c in coco['categories']}
    categories: Dict[tuple, str] = {}
    by_image: Dict[int, List[dict]] = {}
    for ann in coco['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann)
        if not ann.get('iscrowd', 0) and 'kitti_line' in ann:
            categories[(ann['image_id'],
                        ann['kitti_line'])] = cat_names[ann['category_id']]
    annos = {}
    for img in coco['images']:
        names, cats, boxes, trunc, occ = [], [], [], [], []
        if 'kitti_objects' in img:
            for obj in img['kitti_objects']:
                names.append(obj['type'])
                cats.append(categories.get((img['id'], obj['line'])))
                boxes.append(obj['bbox'])
                trunc.append(obj['truncated'])
                occ.append(obj['occluded'])
        else:
            seen_crowd = set()
            for ann in by_image.get(img['id'], []):
                x, y, w, h = ann['bbox']
                box = [x, y, x + w, y + h]
                if ann.get('iscrowd', 0):
                    if tuple(box) in seen_crowd:
                        continue
                    seen_crowd.add(tuple(box))
                    names.append('DontCare')
                    cats.append(None)
                else:
                    names.append(cat_names[ann['category_id']])
                    cats.append(names[-1])
                boxes.append(box)
                trunc.append(0.0)
                occ.append(0)
        annos[img['id']] = dict(
            name=names,
            category=cats,
            bbox=np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
            truncated=np.asarray(trunc, dtype=np.float64),
            occluded=np.asarray(occ, dtype=np.int64))
    return annos


@METRICS.register_module()
class KittiMetric(BaseMetric):
    """KITTI 2D detection metric.

    Reports, for the classes of the dataset (``dataset_meta['classes']``):

    * ``kitti/AP50_{cls}``: AP at IoU 0.5 (all-point interpolation) for
      every class with ground truth, and ``kitti/mAP``, their unweighted
      mean (classes without ground truth are shown as n/a and left out);
    * ``kitti/{cls}_{easy,moderate,hard}_{R40,R11}``: the official KITTI
      devkit numbers (left out where no valid ground truth exists);
    * ``coco/bbox_mAP``, ``coco/bbox_mAP_50``, ``coco/bbox_mAP_75``,
      ``coco/bbox_mAP_s``, ``coco/bbox_mAP_m``, ``coco/bbox_mAP_l``: from
      mmdet's ``CocoMetric`` on the same detections and images.

    Args:
        ann_file (str): COCO file written by ``kitti2coco.py`` (the one of
            the evaluated split).
        coco_metric (bool): Also compute COCO AP. Defaults to True.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the KITTI keys.
            Defaults to 'kitti'.
        coco_prefix (str): Prefix of the COCO keys. Defaults to 'coco'.
        backend_args (dict, optional): File backend arguments.
    """

    def __init__(self,
                 ann_file: str,
                 coco_metric: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 coco_prefix: str = 'coco',
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(
            collect_device=collect_device, prefix=prefix or 'kitti')
        # keys carry their own prefixes ('kitti/...', 'coco/...')
        self.kitti_prefix = self.prefix
        self.prefix = None
        self.coco_prefix = coco_prefix
        self.ann_file = ann_file
        self._gt = gt_annos_from_coco(
            load(ann_file, backend_args=backend_args))
        self._coco = None
        if coco_metric:
            # imported here: mmdet's CocoMetric pulls in matplotlib
            from mmdet.evaluation.metrics import CocoMetric
            self._coco = CocoMetric(
                ann_file=ann_file,
                metric='bbox',
                collect_device=collect_device,
                backend_args=backend_args)

    @BaseMetric.dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        self._dataset_meta = dataset_meta
        if self._coco is not None:
            self._coco.dataset_meta = dataset_meta

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep the predicted boxes, scores and labels of each image.

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Predictions with ``img_id`` and
                ``pred_instances`` in original image coordinates.
        """
        coco_items = [None] * len(data_samples)
        if self._coco is not None:
            self._coco.process(data_batch, data_samples)
            coco_items = self._coco.results
            self._coco.results = []
        for sample, coco_item in zip(data_samples, coco_items):
            pred = sample['pred_instances']
            self.results.append(
                dict(
                    img_id=sample['img_id'],
                    bboxes=_to_numpy(pred['bboxes']).reshape(-1, 4),
                    scores=_to_numpy(pred['scores']).reshape(-1),
                    labels=_to_numpy(pred['labels']).reshape(-1),
                    coco=coco_item))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Evaluate the collected predictions.

        Args:
            results (list): What :meth:`process` stored, from all ranks.

        Returns:
            dict[str, float]: Flat keys, see the class docstring.
        """
        logger = MMLogger.get_current_instance()
        classes = list(self.dataset_meta['classes'])
        by_id = OrderedDict()
        for item in results:
            by_id.setdefault(item['img_id'], item)
        missing = [i for i in by_id if i not in self._gt]
        if missing:
            raise KeyError(
                f'image ids {missing[:5]} are not in {self.ann_file}; '
                'evaluate with the annotation file of the evaluated split')
        gt_annos, dt_annos = [], []
        for img_id, item in by_id.items():
            gt_annos.append(self._gt[img_id])
            dt_annos.append(
                dict(
                    name=[classes[int(k)] for k in item['labels']],
                    bbox=np.asarray(item['bboxes'], dtype=np.float64),
                    score=np.asarray(item['scores'], dtype=np.float64)))
        res = kitti_eval(gt_annos, dt_annos, classes)
        logger.info('KITTI evaluation on %d images\n%s', len(gt_annos),
                    format_table(res))

        p = self.kitti_prefix
        metrics = OrderedDict()
        for cls in classes:
            if not math.isnan(res['ap50'][cls]):
                metrics[f'{p}/AP50_{cls}'] = res['ap50'][cls]
        metrics[f'{p}/mAP'] = res['mAP']
        for cls in classes:
            for d in DIFFICULTIES:
                for kind in ('R40', 'R11'):
                    value = res['devkit'][cls][d][kind]
                    if not math.isnan(value):
                        metrics[f'{p}/{cls}_{d}_{kind}'] = value

        if self._coco is not None:
            # evaluate COCO AP on exactly the images seen here
            self._coco.img_ids = list(by_id)
            coco_res = self._coco.compute_metrics(
                [item['coco'] for item in by_id.values()])
            if not coco_res:
                logger.warning('no detections at all: COCO AP set to 0')
            for key in ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s',
                        'bbox_mAP_m', 'bbox_mAP_l'):
                metrics[f'{self.coco_prefix}/{key}'] = float(
                    coco_res.get(key, 0.0))
        return dict(metrics)


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)
