"""``KittiMetric``: the KITTI 2D tables (paper AP50 per class and mAP, the
official devkit Easy / Moderate / Hard R40 / R11) from mmdet detections.

COCO AP is mmdet's ``CocoMetric``, listed beside it in ``val_evaluator``.
The computation is :mod:`.kitti_eval`; this module gathers the predictions
and reads the per-box KITTI fields (truncation, occlusion, original class,
DontCare regions) by image id from the COCO file of
``tools/dataset_converters/kitti2coco.py``.
"""
import math
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.fileio import load
from mmengine.logging import MMLogger

from .kitti_eval import DIFFICULTIES, format_table, kitti_eval


def gt_annos_from_coco(coco: dict) -> Dict[int, dict]:
    """Per-image ground truth for :func:`kitti_eval` from a COCO dict.

    Uses ``images[i]['kitti_objects']`` (every label line, DontCare
    included) when present, each object's category taken from its
    annotation (matched by ``kitti_line``). A plain COCO file works too: its
    boxes become objects of their category with truncation and occlusion 0,
    its crowd boxes DontCare regions.

    Args:
        coco (dict): The loaded COCO file.

    Returns:
        dict[int, dict]: Image id -> ``name``, ``category``, ``bbox``,
        ``truncated`` and ``occluded``.
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
        if 'kitti_objects' in img:
            objs = [(o['type'], categories.get((img['id'], o['line'])),
                     o['bbox'], o['truncated'], o['occluded'])
                    for o in img['kitti_objects']]
        else:
            objs, crowd = [], set()
            for ann in by_image.get(img['id'], []):
                x, y, w, h = ann['bbox']
                box = (x, y, x + w, y + h)
                if not ann.get('iscrowd', 0):
                    name = cat_names[ann['category_id']]
                    objs.append((name, name, box, 0.0, 0))
                elif box not in crowd:
                    crowd.add(box)
                    objs.append(('DontCare', None, box, 0.0, 0))
        names, cats, boxes, trunc, occ = zip(*objs) if objs else ([], ) * 5
        annos[img['id']] = dict(
            name=list(names),
            category=list(cats),
            bbox=np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
            truncated=np.asarray(trunc, dtype=np.float64),
            occluded=np.asarray(occ, dtype=np.int64))
    return annos


@METRICS.register_module()
class KittiMetric(BaseMetric):
    """KITTI 2D detection metric for the classes of the dataset.

    Keys (under ``prefix``, ``'kitti'`` by default): ``AP50_{cls}``, the AP
    at IoU 0.5 (all-point interpolation) of each class with ground truth;
    ``mAP``, their unweighted mean; ``{cls}_{easy,moderate,hard}_{R40,R11}``,
    the official devkit numbers where valid ground truth exists. Both tables
    are logged.

    Args:
        ann_file (str): COCO file written by ``kitti2coco.py`` for the
            evaluated split.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the keys. Defaults to None, which
            gives ``'kitti'``.
        backend_args (dict, optional): File backend arguments. Defaults to
            None.
    """

    default_prefix: Optional[str] = 'kitti'

    def __init__(self,
                 ann_file: str,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ann_file = ann_file
        self._gt = gt_annos_from_coco(
            load(ann_file, backend_args=backend_args))

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep the boxes, scores and labels predicted for each image.

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Predictions with ``img_id`` and
                ``pred_instances`` in original image coordinates.
        """
        for sample in data_samples:
            pred = sample['pred_instances']
            self.results.append(
                dict(
                    img_id=sample['img_id'],
                    bboxes=_to_numpy(pred['bboxes']).reshape(-1, 4),
                    scores=_to_numpy(pred['scores']).reshape(-1),
                    labels=_to_numpy(pred['labels']).reshape(-1)))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Evaluate the predictions of all ranks (one per image).

        Raises:
            KeyError: An image id is not in ``ann_file``.
        """
        classes = list(self.dataset_meta['classes'])
        by_id = {}
        for item in results:
            by_id.setdefault(item['img_id'], item)
        missing = [i for i in by_id if i not in self._gt]
        if missing:
            raise KeyError(
                f'image ids {missing[:5]} are not in {self.ann_file}; '
                'evaluate with the annotation file of the evaluated split')
        dt_annos = [
            dict(
                name=[classes[int(k)] for k in item['labels']],
                bbox=item['bboxes'],
                score=item['scores']) for item in by_id.values()
        ]
        res = kitti_eval([self._gt[i] for i in by_id], dt_annos, classes)
        MMLogger.get_current_instance().info(
            f'KITTI evaluation on {len(by_id)} images\n{format_table(res)}')
        metrics = {
            f'AP50_{cls}': ap
            for cls, ap in res['ap50'].items() if not math.isnan(ap)
        }
        metrics['mAP'] = res['mAP']
        for cls in classes:
            for d in DIFFICULTIES:
                for kind in ('R40', 'R11'):
                    value = res['devkit'][cls][d][kind]
                    if not math.isnan(value):
                        metrics[f'{cls}_{d}_{kind}'] = value
        return metrics


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)
