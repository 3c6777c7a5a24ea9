"""``KittiMetric``: the KITTI 2D tables (paper AP50 and the official devkit
numbers) from mmdet detections; COCO AP is mmdet's ``CocoMetric`` beside it
in ``val_evaluator``. The per-box KITTI fields come by image id from the
COCO file of ``tools/dataset_converters/kitti2coco.py``."""
import math
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.fileio import load
from mmengine.logging import MMLogger

from .kitti_eval import DIFFICULTIES, format_table, kitti_eval


def gt_annos_from_coco(coco: dict) -> Dict[int, dict]:
    """Image id -> ground truth for :func:`kitti_eval`, from a COCO dict.

    Reads ``images[i]['kitti_objects']`` (every label line), each object's
    category taken from the annotation of the same ``kitti_line``. In a
    plain COCO file, boxes are objects with truncation and occlusion 0 and
    crowd boxes DontCare regions.
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
            name=list(names), category=list(cats),
            bbox=np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
            truncated=np.asarray(trunc, dtype=np.float64),
            occluded=np.asarray(occ, dtype=np.int64))
    return annos


@METRICS.register_module()
class KittiMetric(BaseMetric):
    """KITTI 2D detection metric for the classes of the dataset.

    Keys (prefix ``'kitti'``): ``AP50_{cls}`` of each class with ground
    truth, ``mAP`` (their mean) and ``{cls}_{easy,moderate,hard}_{R40,R11}``
    where valid ground truth exists; both tables are logged.

    Args:
        ann_file (str): COCO file of ``kitti2coco.py`` for the split.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Key prefix. Defaults to None ('kitti').
        backend_args (dict, optional): File backend arguments.
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
        """Keep the predicted boxes, scores and labels of each image."""
        for sample in data_samples:
            pred = sample['pred_instances']
            self.results.append(dict(
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
            dict(name=[classes[int(k)] for k in item['labels']],
                 bbox=item['bboxes'], score=item['scores'])
            for item in by_id.values()
        ]
        res = kitti_eval([self._gt[i] for i in by_id], dt_annos, classes)
        MMLogger.get_current_instance().info(
            f'KITTI evaluation on {len(by_id)} images\n{format_table(res)}')
        metrics = {f'AP50_{cls}': ap for cls, ap in res['ap50'].items()}
        metrics['mAP'] = res['mAP']  # kept even when NaN
        metrics.update({
            f'{cls}_{d}_{kind}': res['devkit'][cls][d][kind]
            for cls in classes for d in DIFFICULTIES
            for kind in ('R40', 'R11')
        })
        return {
            k: v
            for k, v in metrics.items() if k == 'mAP' or not math.isnan(v)
        }


def _to_numpy(x) -> np.ndarray:
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, 'detach') else x)
