"""A picture of a detector's boxes on real images.

:func:`draw_detections` stacks a few images into one PNG, each drawn twice
side by side by mmdet's ``DetLocalVisualizer``: its ground truth (left) and
the detections scoring at least a threshold (right), with class and score.
Predictions are what :func:`~ssdet.analysis.detections.load_predictions`
reads from a ``tools/test.py --out`` file; ground truth is what
:func:`~ssdet.analysis.detections.ground_truth_from_dataset` gives. mmdet
(and the compatibility layer of ``custom_modules`` it needs) is imported on
the first call, so importing this module costs nothing.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..io import atomic_save_image


def pick_images(predictions: Dict[object, dict],
                ground_truth: Optional[Dict[object, dict]] = None,
                num_images: int = 4) -> List[object]:
    """The images to draw: those with the most ground-truth boxes (ties by
    id), or the first ids without ground truth.

    Args:
        predictions (dict): ``{img_id: {'img_path', 'bboxes', 'scores',
            'labels'}}``.
        ground_truth (dict, optional): ``{img_id: {'img_path', 'bboxes',
            'labels'}}``. Defaults to None.
        num_images (int): How many. Defaults to 4.

    Returns:
        list: Image ids, in drawing order.
    """
    gt = ground_truth or {}

    def boxes(key):
        return len(gt[key]['bboxes']) if key in gt else 0

    keys = sorted(predictions, key=lambda k: (-boxes(k), str(k)))
    return keys[:num_images]


def draw_detections(predictions: Dict[object, dict],
                    classes: Sequence[str],
                    out: str,
                    ground_truth: Optional[Dict[object, dict]] = None,
                    num_images: int = 4,
                    score_thr: float = 0.3) -> str:
    """Draw detections (and ground truth) on images into one PNG.

    Args:
        predictions (dict): ``{img_id: {'img_path', 'bboxes', 'scores',
            'labels'}}`` (boxes ``x1 y1 x2 y2`` in image pixels).
        classes (Sequence[str]): Class names, by label.
        out (str): The PNG to write.
        ground_truth (dict, optional): ``{img_id: {'img_path', 'bboxes',
            'labels'}}``; drawn left of the detections. Defaults to None.
        num_images (int): Images stacked, most ground truth first.
            Defaults to 4.
        score_thr (float): Detections below it are not drawn. Defaults to
            0.3.

    Returns:
        str: ``out``.

    Raises:
        ValueError: No prediction, or one without ``img_path``.
        FileNotFoundError: An image does not exist.
    """
    from custom_modules.compat import install
    install()  # mmcv._ext before mmdet's imports reach mmcv.ops
    import torch
    from mmdet.structures import DetDataSample
    from mmdet.visualization import DetLocalVisualizer
    from mmengine.structures import InstanceData
    from PIL import Image

    keys = pick_images(predictions, ground_truth, num_images)
    if not keys:
        raise ValueError('no prediction to draw')
    visualizer = DetLocalVisualizer.get_instance('ssdet.draw_detections')
    visualizer.dataset_meta = dict(classes=tuple(classes))

    def instances(item: dict, with_scores: bool) -> InstanceData:
        data = InstanceData(
            bboxes=torch.as_tensor(
                np.asarray(item['bboxes'], dtype=np.float32).reshape(-1, 4)),
            labels=torch.as_tensor(
                np.asarray(item['labels'], dtype=np.int64).reshape(-1)))
        if with_scores:
            data.scores = torch.as_tensor(
                np.asarray(item['scores'], dtype=np.float32).reshape(-1))
        return data

    rows = []
    for key in keys:
        pred = predictions[key]
        if not pred.get('img_path'):
            raise ValueError(f'the prediction of image {key} has no '
                             'img_path (a tools/test.py --out file has it)')
        with Image.open(pred['img_path']) as img:
            image = np.asarray(img.convert('RGB'))
        sample = DetDataSample(pred_instances=instances(pred, True))
        draw_gt = ground_truth is not None and key in ground_truth
        if draw_gt:
            sample.gt_instances = instances(ground_truth[key], False)
        visualizer.add_datasample(
            str(key),
            image,
            sample,
            draw_gt=draw_gt,
            draw_pred=True,
            pred_score_thr=score_thr)
        rows.append(visualizer.get_image())
    width = max(r.shape[1] for r in rows)
    rows = [
        np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)),
               constant_values=255) for r in rows
    ]
    return atomic_save_image(out, np.concatenate(rows, axis=0))
