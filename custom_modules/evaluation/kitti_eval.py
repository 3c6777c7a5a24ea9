"""KITTI 2D evaluation over numpy arrays (docs/kitti.md): the official
devkit numbers (``evaluate_object.cpp`` semantics, quirks included; an
independent implementation of the devkit of Geiger, Lenz and Urtasun,
http://www.cvlibs.net/datasets/kitti/eval_object.php) and the paper table.

Per image, ground truth is a dict with ``name`` (KITTI types, DontCare
included), ``bbox`` (N, 4) ``x1 y1 x2 y2``, ``truncated``, ``occluded`` and
optionally ``category`` (trained class or None; defaults to ``name``; paper
table only); detections have ``name``, ``bbox`` (M, 4) and ``score``.
"""
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmdet.evaluation.functional import average_precision
from terminaltables import AsciiTable

KITTI_CLASSES = ('Car', 'Van', 'Truck', 'Pedestrian', 'Person_sitting',
                 'Cyclist', 'Tram')
DIFFICULTIES = ('easy', 'moderate', 'hard')
MIN_HEIGHT = (40, 25, 25)
MAX_OCCLUSION = (0, 1, 2)
MAX_TRUNCATION = (0.15, 0.3, 0.5)
#: IoU a match must exceed (strictly), per class.
MIN_OVERLAP = dict(car=0.7, van=0.7, truck=0.7, tram=0.7, pedestrian=0.5,
                   person_sitting=0.5, cyclist=0.5)
#: Ground truth of the neighbouring class is ignored (neither TP nor FN).
NEIGHBOUR = {'car': 'van', 'pedestrian': 'person_sitting'}
N_SAMPLE_PTS = 41  # recall steps 0/40 .. 40/40
NO_DETECTION = -10000000.0


def _boxes(boxes) -> np.ndarray:
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def overlap_matrix(a: np.ndarray, b: np.ndarray,
                   criterion: int = -1) -> np.ndarray:
    """The devkit's ``boxoverlap`` of (N, 4) boxes ``a`` (the detections)
    and (K, 4) boxes ``b``: (N, K), 0 where they do not intersect.

    ``criterion``: -1 IoU, 0 over the area of ``a``'s box, 1 over ``b``'s.
    """
    if criterion not in (-1, 0, 1):
        raise ValueError(f'criterion must be -1, 0 or 1, got {criterion}')
    a, b = _boxes(a), _boxes(b)
    wh = (np.minimum(a[:, None, 2:], b[None, :, 2:]) -
          np.maximum(a[:, None, :2], b[None, :, :2]))
    w, h = wh[..., 0], wh[..., 1]
    inter = w * h
    area_a = ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[:, None]
    area_b = ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))[None, :]
    denom = {-1: area_a + area_b - inter, 0: area_a, 1: area_b}[criterion]
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where((w > 0) & (h > 0), inter / denom, 0.0)


def get_thresholds(scores: Sequence[float], n_gt: int) -> List[float]:
    """Score thresholds (``getThresholds``): of the true-positive scores,
    descending, those whose recall is closest to the next 1/40 step."""
    v = sorted((float(s) for s in scores), reverse=True)
    thresholds = []
    current_recall = 0.0
    for i, score in enumerate(v):
        l_recall = (i + 1) / n_gt
        r_recall = (i + 2) / n_gt if i < len(v) - 1 else l_recall
        if ((r_recall - current_recall) < (current_recall - l_recall)
                and i < len(v) - 1):
            continue
        thresholds.append(score)
        current_recall += 1.0 / (N_SAMPLE_PTS - 1.0)
    return thresholds


def prepare_frame(gt: dict, det: dict) -> dict:
    """The arrays of one image shared by every class and difficulty:
    lower-case names, boxes, truncation, occlusion, scores, the (N, M)
    ground truth x detection IoU and the (K, M) DontCare x detection
    overlap over the detections' areas."""
    gt_names = np.array([str(n).lower() for n in gt['name']], dtype=object)
    gt_boxes, det_boxes = _boxes(gt['bbox']), _boxes(det['bbox'])
    dontcare = gt_boxes[gt_names == 'dontcare']
    return dict(
        gt_names=gt_names,
        gt_boxes=gt_boxes,
        truncated=np.asarray(gt['truncated'], dtype=np.float64).reshape(-1),
        occluded=np.asarray(gt['occluded']).reshape(-1),
        det_names=np.array([str(n).lower() for n in det['name']],
                           dtype=object),
        det_boxes=det_boxes,
        scores=np.asarray(det['score'], dtype=np.float64).reshape(-1),
        dontcare=dontcare,
        # the detection is box a, as in the devkit
        overlaps=overlap_matrix(det_boxes, gt_boxes).T,
        dc_overlaps=overlap_matrix(det_boxes, dontcare, criterion=0).T)


def clean_frame(frame: dict, class_name: str, difficulty: int) -> tuple:
    """Which boxes count for a class and difficulty (``cleanData``).

    Returns:
        tuple: ``ignored_gt`` (N,) and ``ignored_det`` (M,), each 0 valid,
        1 ignored, -1 other class; the DontCare boxes (second); the number
        of valid ground-truth boxes (last).
    """
    cls = class_name.lower()
    names, boxes = frame['gt_names'], frame['gt_boxes']
    valid = names == cls
    neighbours = names == NEIGHBOUR.get(cls, '')
    ignore = ((frame['occluded'] > MAX_OCCLUSION[difficulty])
              | (frame['truncated'] > MAX_TRUNCATION[difficulty])
              | (boxes[:, 3] - boxes[:, 1] <= MIN_HEIGHT[difficulty]))
    ignored_gt = np.full(len(names), -1, dtype=np.int64)
    ignored_gt[neighbours | (valid & ignore)] = 1
    ignored_gt[valid & ~ignore] = 0
    det_boxes = frame['det_boxes']
    # int32_t height = fabs(y1 - y2): truncated towards zero
    det_height = np.floor(np.abs(det_boxes[:, 1] - det_boxes[:, 3]))
    ignored_det = np.where(det_height < MIN_HEIGHT[difficulty], 1,
                           np.where(frame['det_names'] == cls, 0, -1))
    return (ignored_gt, frame['dontcare'], ignored_det.astype(np.int64),
            int((ignored_gt == 0).sum()))


def compute_statistics(overlaps: np.ndarray, dc_overlaps: np.ndarray,
                       scores: np.ndarray, ignored_gt: np.ndarray,
                       ignored_det: np.ndarray, min_overlap: float,
                       thresholds: Optional[Sequence[float]] = None) -> dict:
    """Match one image (``computeStatistics``) at all thresholds at once.

    Without ``thresholds`` (``compute_fp=false``) returns the true-positive
    ``scores``; with them, ``tp``, ``fp`` and ``fn`` arrays of shape (T,).
    Arguments as from :func:`prepare_frame` and :func:`clean_frame`.
    """
    num_det = len(scores)
    scores = np.asarray(scores, dtype=np.float64)
    gt_idx = np.nonzero(ignored_gt != -1)[0]
    if thresholds is None:
        assigned = np.zeros(num_det, dtype=bool)
        tp_scores = []
        for i in gt_idx:
            cand = ((ignored_det != -1) & ~assigned &
                    (overlaps[i] > min_overlap) & (scores > NO_DETECTION))
            if not cand.any():
                continue
            # strict '>' over j: the first of the highest scores wins
            j = int(np.argmax(np.where(cand, scores, -np.inf)))
            assigned[j] = True
            if ignored_gt[i] == 0 and ignored_det[j] == 0:
                tp_scores.append(float(scores[j]))
        return dict(scores=tp_scores)

    thr = np.asarray(thresholds, dtype=np.float64)
    num_t = len(thr)
    tp = np.zeros(num_t, dtype=np.int64)
    fn = np.zeros(num_t, dtype=np.int64)
    if num_det == 0:
        return dict(tp=tp, fp=tp.copy(), fn=fn + int((ignored_gt == 0).sum()))
    rows = np.arange(num_t)
    below = scores[None, :] < thr[:, None]  # (T, M)
    assigned = np.zeros((num_t, num_det), dtype=bool)
    valid_det = ignored_det == 0
    small_det = ignored_det == 1
    for i in gt_idx:
        free = ~assigned & ~below & (overlaps[i] > min_overlap)[None, :]
        cand0 = free & valid_det[None, :]
        cand1 = free & small_det[None, :]
        has0 = cand0.any(axis=1)
        # greatest overlap among valid detections (first on ties), else
        # the first ignored (too small) detection
        pick0 = np.argmax(
            np.where(cand0, overlaps[i][None, :], -np.inf), axis=1)
        found = has0 | cand1.any(axis=1)
        pick = np.where(has0, pick0, np.argmax(cand1, axis=1))
        if ignored_gt[i] == 0:
            fn += ~found
            tp += found & has0
        assigned[rows[found], pick[found]] = True
    counted = ~assigned & ~below & valid_det[None, :]
    fp = counted.sum(axis=1)
    if len(dc_overlaps):
        in_dontcare = (dc_overlaps > min_overlap).any(axis=0)
        fp = fp - (counted & in_dontcare[None, :]).sum(axis=1)
    return dict(tp=tp, fp=fp, fn=fn)


def eval_class(gt_annos: Sequence[dict], dt_annos: Sequence[dict],
               class_name: str, difficulty: int,
               min_overlap: Optional[float] = None,
               frames: Optional[Sequence[dict]] = None) -> dict:
    """The devkit's precision curve of one class at one difficulty (0 easy,
    1 moderate, 2 hard); ``min_overlap`` defaults to :data:`MIN_OVERLAP`,
    ``frames`` caches :func:`prepare_frame` of each image.

    Returns:
        dict: ``precision`` (41,) after the max-to-the-right filter,
        ``recall`` (T,), ``thresholds`` (T,), ``n_gt``.
    """
    if len(gt_annos) != len(dt_annos):
        raise ValueError(f'{len(gt_annos)} ground-truth images but '
                         f'{len(dt_annos)} detection images')
    if min_overlap is None:
        min_overlap = MIN_OVERLAP[class_name.lower()]
    if frames is None:
        frames = [prepare_frame(g, d) for g, d in zip(gt_annos, dt_annos)]
    cleaned, v, n_gt = [], [], 0
    for frame in frames:
        ignored_gt, _, ignored_det, n = clean_frame(frame, class_name,
                                                    difficulty)
        n_gt += n
        if not ((ignored_gt != -1).any() or (ignored_det == 0).any()):
            continue  # nothing of this class: no TP, FP or FN
        args = (frame['overlaps'], frame['dc_overlaps'], frame['scores'],
                ignored_gt, ignored_det, min_overlap)
        cleaned.append(args)
        v.extend(compute_statistics(*args)['scores'])
    thresholds = get_thresholds(v, n_gt)
    tp = fp = fn = np.zeros(len(thresholds), dtype=np.int64)
    for args in cleaned:
        stat = compute_statistics(*args, thresholds)
        tp, fp, fn = tp + stat['tp'], fp + stat['fp'], fn + stat['fn']
    recall = tp / np.maximum(tp + fn, 1)
    # 0/0 (the devkit's NaN) is 0
    precision = np.zeros(N_SAMPLE_PTS, dtype=np.float64)
    precision[:len(tp)] = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1),
                                   0.0)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return dict(precision=precision, recall=recall,
                thresholds=np.asarray(thresholds), n_gt=n_gt)


def ap_r40(precision: np.ndarray) -> float:
    """AP over 40 recall positions: mean of precision[1:41], in percent."""
    return float(np.sum(precision[1:N_SAMPLE_PTS]) / 40 * 100)


def ap_r11(precision: np.ndarray) -> float:
    """AP over 11 points: mean of precision[0:41:4], in percent."""
    return float(np.sum(precision[0:N_SAMPLE_PTS:4]) / 11 * 100)


def eval_ap(gt_annos: Sequence[dict], dt_annos: Sequence[dict],
            class_name: str, iou_thr: float = 0.5,
            ignore_thr: float = 0.5) -> Tuple[float, int]:
    """Paper-table AP of one class: VOC all-point AP at ``iou_thr``.

    By descending score, a detection matches the ground truth (``category
    == class_name``) of highest IoU if ``>= iou_thr`` (a FP if that one is
    already matched, as in VOC); an unmatched one covering DontCare (over
    its area, ``>= ignore_thr``) is ignored.

    Returns:
        tuple[float, int]: AP in percent (NaN without ground truth) and the
        number of ground-truth boxes.
    """
    records = []  # (score, image index, detection index)
    per_image = []
    n_gt = 0
    for k, (gt, det) in enumerate(zip(gt_annos, dt_annos)):
        gt_boxes = _boxes(gt['bbox'])
        keep = np.array(
            [c == class_name for c in gt.get('category', gt['name'])],
            dtype=bool)
        dc = np.array([str(n).lower() == 'dontcare' for n in gt['name']],
                      dtype=bool)
        sel = np.array([n == class_name for n in det['name']], dtype=bool)
        det_boxes = _boxes(det['bbox'])[sel]
        scores = np.asarray(det['score'], dtype=np.float64).reshape(-1)[sel]
        per_image.append((overlap_matrix(det_boxes, gt_boxes[keep]),
                          overlap_matrix(det_boxes, gt_boxes[dc], criterion=0),
                          np.zeros(int(keep.sum()), dtype=bool)))
        n_gt += int(keep.sum())
        records.extend((float(s), k, j) for j, s in enumerate(scores))
    if n_gt == 0:
        return float('nan'), 0
    records.sort(key=lambda r: -r[0])  # stable: ties keep input order
    tp = np.zeros(len(records))
    fp = np.zeros(len(records))
    for n, (_, k, j) in enumerate(records):
        ious, dc, matched = per_image[k]
        if len(ious[j]) and ious[j].max() >= iou_thr:
            best = int(np.argmax(ious[j]))
            tp[n], fp[n] = (0, 1) if matched[best] else (1, 0)
            matched[best] = True
        elif not (dc.shape[1] and dc[j].max() >= ignore_thr):
            fp[n] = 1
    counted = (tp + fp) > 0
    tp, fp = np.cumsum(tp[counted]), np.cumsum(fp[counted])
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return float(average_precision(tp / n_gt, precision, 'area')) * 100, n_gt


def kitti_eval(gt_annos: Sequence[dict], dt_annos: Sequence[dict],
               classes: Sequence[str] = KITTI_CLASSES) -> dict:
    """Both KITTI evaluations for several classes.

    Returns:
        dict: ``ap50`` (class -> paper AP, NaN without ground truth),
        ``n_gt`` (class -> boxes), ``mAP`` (mean of the non-NaN ``ap50``)
        and ``devkit`` (class -> difficulty -> ``R40``, ``R11``, ``n_gt``;
        NaN without valid ground truth, where the devkit prints 0).
    """
    results = dict(ap50={}, n_gt={}, devkit={})
    frames = [prepare_frame(g, d) for g, d in zip(gt_annos, dt_annos)]
    for cls in classes:
        results['ap50'][cls], results['n_gt'][cls] = eval_ap(
            gt_annos, dt_annos, cls)
        results['devkit'][cls] = {}
        for d, difficulty in enumerate(DIFFICULTIES):
            out = eval_class(gt_annos, dt_annos, cls, d, frames=frames)
            defined = out['n_gt'] > 0
            results['devkit'][cls][difficulty] = dict(
                R40=ap_r40(out['precision']) if defined else float('nan'),
                R11=ap_r11(out['precision']) if defined else float('nan'),
                n_gt=out['n_gt'])
    present = [v for v in results['ap50'].values() if not math.isnan(v)]
    results['mAP'] = float(np.mean(present)) if present else float('nan')
    return results


def format_table(results: dict) -> str:
    """The paper table and the devkit table of :func:`kitti_eval` results.
    """

    def fmt(value: float) -> str:
        return 'n/a' if math.isnan(value) else f'{value:.2f}'

    kinds = ('R40', 'R11')
    paper = [['class', 'AP50', 'GT boxes']]
    paper += [[cls, fmt(ap), str(results['n_gt'][cls])]
              for cls, ap in results['ap50'].items()]
    paper.append(['mAP', fmt(results['mAP']), ''])
    devkit = [['class'] +
              [f'{d.capitalize()} {k}' for d in DIFFICULTIES for k in kinds]]
    devkit += [[cls] + [fmt(r[k]) for r in per_cls.values() for k in kinds]
               for cls, per_cls in results['devkit'].items()]
    return '\n'.join([
        AsciiTable(paper, 'KITTI AP50').table,
        'IoU >= 0.5, all-point interpolation; mAP over the classes with '
        'ground truth.',
        AsciiTable(devkit, 'KITTI devkit').table,
        'evaluate_object.cpp semantics; n/a: no valid ground truth.'
    ])
