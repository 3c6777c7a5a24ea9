"""``KittiMetric`` on the real labels of the 75 frames against a reference
written here, plainly, from the devkit's rules in docs/kitti.md.

Detections are made from the real ground truth: boxes jittered (IoU
around the 0.5 and 0.7 thresholds, heights around 25 and 40 px), missed
boxes, duplicates, wrong classes, false positives of every class, and boxes
inside and across DontCare regions. The metric reads the converter's COCO
file; the reference reads the label files.
"""
import math
import os
import os.path as osp

import numpy as np
import pytest
import torch

from ssdet.data.kitti import KITTI_CLASSES, convert

# The devkit's rules (docs/kitti.md, evaluate_object.cpp)
MIN_HEIGHT = (40, 25, 25)  # easy, moderate, hard
MAX_OCCLUSION = (0, 1, 2)
MAX_TRUNCATION = (0.15, 0.3, 0.5)
MIN_OVERLAP = dict(
    Car=0.7,
    Van=0.7,
    Truck=0.7,
    Tram=0.7,
    Pedestrian=0.5,
    Person_sitting=0.5,
    Cyclist=0.5)
NEIGHBOUR = dict(Car='van', Pedestrian='person_sitting')
N_SAMPLE_PTS = 41
DIFFICULTIES = ('easy', 'moderate', 'hard')


def read_labels(label_file):
    """``[(type, truncated, occluded, (x1, y1, x2, y2))]`` of a label
    file."""
    objects = []
    with open(label_file) as f:
        for line in f:
            fields = line.split()
            if fields:
                objects.append((fields[0], float(fields[1]), int(fields[2]),
                                tuple(float(v) for v in fields[4:8])))
    return objects


def overlap(a, b, own_area=False):
    """IoU of boxes ``a`` and ``b``, or their intersection over the area
    of ``a``."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return inter / area_a if own_area else inter / (area_a + area_b - inter)


# ---------------------------------------------------------------------------
# The devkit: cleanData, computeStatistics, getThresholds, eval_class
# ---------------------------------------------------------------------------


def clean(gts, dets, cls, d):
    """Per box: 0 counts, 1 ignored, -1 another class; and the number of
    valid ground-truth boxes."""
    ignored_gt, n_gt = [], 0
    for kind, truncated, occluded, box in gts:
        if kind.lower() == cls.lower():
            valid = 1
        elif kind.lower() == NEIGHBOUR.get(cls):
            valid = 0
        else:
            valid = -1
        ignore = (occluded > MAX_OCCLUSION[d]
                  or truncated > MAX_TRUNCATION[d]
                  or box[3] - box[1] <= MIN_HEIGHT[d])
        if valid == 1 and not ignore:
            ignored_gt.append(0)
            n_gt += 1
        elif valid == 0 or (valid == 1 and ignore):
            ignored_gt.append(1)
        else:
            ignored_gt.append(-1)
    ignored_det = []
    for kind, box, _ in dets:
        if int(abs(box[3] - box[1])) < MIN_HEIGHT[d]:  # any class
            ignored_det.append(1)
        elif kind.lower() == cls.lower():
            ignored_det.append(0)
        else:
            ignored_det.append(-1)
    return ignored_gt, ignored_det, n_gt


def statistics(gts, dets, ignored_gt, ignored_det, min_overlap,
               threshold=None):
    """Without ``threshold``, the scores of the true positives; with it,
    ``(tp, fp, fn)`` of the detections scoring at least ``threshold``."""
    compute_fp = threshold is not None
    assigned = [False] * len(dets)
    below = [compute_fp and s < threshold for _, _, s in dets]
    tp = fp = fn = 0
    tp_scores = []
    for i, (_, _, _, gt_box) in enumerate(gts):
        if ignored_gt[i] == -1:
            continue
        det_idx, valid, max_iou, took_ignored = -1, None, 0.0, False
        for j, (_, box, score) in enumerate(dets):
            if ignored_det[j] == -1 or assigned[j] or below[j]:
                continue
            iou = overlap(box, gt_box)
            if iou <= min_overlap:
                continue
            if not compute_fp:
                # the highest score
                if valid is None or score > valid:
                    det_idx, valid = j, score
            elif ignored_det[j] == 0 and (iou > max_iou or took_ignored):
                # the greatest IoU among the valid detections
                det_idx, valid, max_iou, took_ignored = j, 1, iou, False
            elif ignored_det[j] == 1 and valid is None:
                # a too small one only while nothing else is found
                det_idx, valid, took_ignored = j, 1, True
        if valid is None:
            fn += ignored_gt[i] == 0
        elif ignored_gt[i] == 1 or ignored_det[det_idx] == 1:
            assigned[det_idx] = True
        else:
            tp += 1
            tp_scores.append(dets[det_idx][2])
            assigned[det_idx] = True
    if not compute_fp:
        return tp_scores
    counted = [
        j for j in range(len(dets))
        if not assigned[j] and ignored_det[j] == 0 and not below[j]
    ]
    fp = len(counted)
    for dc_box in [g[3] for g in gts if g[0].lower() == 'dontcare']:
        for j in counted:
            if not assigned[j] and overlap(dets[j][1], dc_box,
                                           own_area=True) > min_overlap:
                assigned[j] = True
                fp -= 1
    return tp, fp, fn


def thresholds_of(scores, n_gt):
    scores = sorted(scores, reverse=True)
    thresholds, current = [], 0.0
    for i, score in enumerate(scores):
        left = (i + 1) / n_gt
        right = (i + 2) / n_gt if i < len(scores) - 1 else left
        if right - current < current - left and i < len(scores) - 1:
            continue
        thresholds.append(score)
        current += 1 / (N_SAMPLE_PTS - 1)
    return thresholds


def devkit_ap(frames, cls, d):
    """``(R40, R11)`` in percent, or None without valid ground truth."""
    cleaned, scores, n_gt = [], [], 0
    for gts, dets in frames:
        ignored_gt, ignored_det, n = clean(gts, dets, cls, d)
        n_gt += n
        cleaned.append((gts, dets, ignored_gt, ignored_det))
        scores += statistics(gts, dets, ignored_gt, ignored_det,
                             MIN_OVERLAP[cls])
    if n_gt == 0:
        return None
    thresholds = thresholds_of(scores, n_gt)
    precision = [0.0] * N_SAMPLE_PTS
    for t, threshold in enumerate(thresholds):
        tp = fp = 0
        for gts, dets, ignored_gt, ignored_det in cleaned:
            s = statistics(gts, dets, ignored_gt, ignored_det,
                           MIN_OVERLAP[cls], threshold)
            tp, fp = tp + s[0], fp + s[1]
        precision[t] = tp / (tp + fp) if tp + fp else 0.0
    for t in range(N_SAMPLE_PTS):
        precision[t] = max(precision[t:])
    return (sum(precision[1:]) / 40 * 100, sum(precision[::4]) / 11 * 100)


# ---------------------------------------------------------------------------
# The paper table: VOC all-point AP at IoU 0.5, DontCare ignored
# ---------------------------------------------------------------------------


def paper_ap(frames, cls):
    """AP50 in percent, or None without ground truth of ``cls``."""
    n_gt = sum(g[0] == cls for gts, _ in frames for g in gts)
    if n_gt == 0:
        return None
    records = sorted(((score, f, box)
                      for f, (_, dets) in enumerate(frames)
                      for kind, box, score in dets if kind == cls),
                     reverse=True)
    matched = [set() for _ in frames]
    hits = []  # 1 true positive, 0 false positive
    for _, f, box in records:
        gts = frames[f][0]
        ious = [(overlap(box, g[3]), k) for k, g in enumerate(gts)
                if g[0] == cls]
        best_iou, best = max(ious, key=lambda x: x[0], default=(0, None))
        if best_iou >= 0.5:
            # the box of highest IoU; if it is taken, a false positive
            hits.append(0 if best in matched[f] else 1)
            matched[f].add(best)
        elif not any(
                overlap(box, g[3], own_area=True) >= 0.5 for g in gts
                if g[0] == 'DontCare'):
            hits.append(0)
    recall, precision, tp = [], [], 0
    for n, hit in enumerate(hits, 1):
        tp += hit
        recall.append(tp / n_gt)
        precision.append(tp / n)
    recall = [0.0] + recall + [1.0]
    precision = [0.0] + precision + [0.0]
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = max(precision[i], precision[i + 1])
    return 100 * sum((recall[i + 1] - recall[i]) * precision[i + 1]
                     for i in range(len(recall) - 1))


# ---------------------------------------------------------------------------
# Detections made from the real ground truth
# ---------------------------------------------------------------------------


def f32(values):
    """Round to float32 as the detector's tensors are, so that the
    reference and the metric see the same numbers."""
    return tuple(float(v) for v in np.asarray(values, dtype=np.float32))


def make_detections(objects, size, rng):
    """``[(class, box, score)]`` for one frame."""
    width, height = size

    def clip(x1, y1, x2, y2):
        x1, x2 = np.clip([x1, x2], 0, width)
        y1, y2 = np.clip([y1, y2], 0, height)
        if x2 - x1 < 2 or y2 - y1 < 2:
            return None
        return f32((x1, y1, x2, y2))

    def jitter(box, spread):
        w, h = box[2] - box[0], box[3] - box[1]
        return clip(*(np.asarray(box) + rng.randn(4) * spread *
                      np.array([w, h, w, h])))

    dets = []

    def add(kind, box, score):
        if box is not None:
            dets.append((kind, box, float(np.float32(score))))

    for kind, _, _, box in objects:
        if kind in ('DontCare', 'Misc'):
            continue
        if rng.rand() < 0.15:
            continue  # missed
        cls = kind if rng.rand() < 0.85 else KITTI_CLASSES[rng.randint(7)]
        spread = rng.choice([0.02, 0.06, 0.12, 0.25])
        add(cls, jitter(box, spread), rng.rand() * 0.6 + 0.4 - spread)
        if rng.rand() < 0.15:  # a duplicate, usually scored lower
            add(cls, jitter(box, 0.08), rng.rand() * 0.7)
    for kind, _, _, box in objects:
        if kind != 'DontCare':
            continue
        x1, y1, x2, y2 = box
        w, h = x2 - x1, y2 - y1
        cls = KITTI_CLASSES[rng.randint(7)]
        if rng.rand() < 0.6:  # inside the region
            a, b = rng.uniform(0, 0.3, 2)
            add(cls, clip(x1 + a * w, y1 + b * h, x2 - 0.1 * a * w,
                          y2 - 0.1 * b * h), rng.rand())
        if rng.rand() < 0.4:  # across its edge: 0.3-0.8 of it inside
            shift = rng.uniform(0.2, 0.7) * w
            add(cls, clip(x1 + shift, y1, x2 + shift, y2), rng.rand())
    for cls in KITTI_CLASSES:  # false positives of every class
        for _ in range(rng.poisson(0.4)):
            h = rng.uniform(15, 150)
            w = h * rng.uniform(0.4, 2.5)
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            add(cls, clip(x, y, x + w, y + h), rng.rand() * 0.8)
    return dets


@pytest.fixture(scope='module')
def real_frames(kitti75_root, tmp_path_factory):
    """The converter's COCO file of all 75 frames, and per frame the
    labels (read here) and the made-up detections."""
    out = tmp_path_factory.mktemp('kitti75_all')
    convert(kitti75_root, str(out), val_ratio=0)
    label_dir = osp.join(kitti75_root, 'training', 'label_2')
    rng = np.random.RandomState(0)
    frames = {}
    for name in sorted(os.listdir(label_dir)):
        objects = read_labels(osp.join(label_dir, name))
        frames[int(name[:-4])] = (objects,
                                  make_detections(objects, (1242, 375), rng))
    return str(out / 'train.json'), frames


def test_detections_cover_every_case(real_frames):
    _, frames = real_frames
    dets = [d for _, ds in frames.values() for d in ds]
    assert {d[0] for d in dets} == set(KITTI_CLASSES)
    assert len(dets) > 300
    heights = [d[1][3] - d[1][1] for d in dets]
    assert sum(h < 25 for h in heights) > 10
    assert sum(25 <= h < 40 for h in heights) > 10
    in_dontcare = [
        d for gts, ds in frames.values() for d in ds
        if any(g[0] == 'DontCare' and overlap(d[1], g[3], own_area=True) > 0.7
               for g in gts)
    ]
    assert len(in_dontcare) > 50


def test_metric_matches_reference_on_real_labels(real_frames):
    from custom_modules.evaluation import KittiMetric
    ann_file, frames = real_frames
    metric = KittiMetric(ann_file=ann_file)
    metric.dataset_meta = dict(classes=KITTI_CLASSES)
    for img_id, (_, dets) in frames.items():
        metric.process({}, [
            dict(
                img_id=img_id,
                pred_instances=dict(
                    bboxes=torch.tensor([d[1] for d in dets],
                                        dtype=torch.float32).reshape(-1, 4),
                    scores=torch.tensor([d[2] for d in dets],
                                        dtype=torch.float32),
                    labels=torch.tensor(
                        [KITTI_CLASSES.index(d[0]) for d in dets])))
        ])
    results = metric.evaluate(len(frames))

    frame_list = list(frames.values())
    expected = {}
    for cls in KITTI_CLASSES:
        ap = paper_ap(frame_list, cls)
        if ap is not None:
            expected[f'kitti/AP50_{cls}'] = ap
        for d, difficulty in enumerate(DIFFICULTIES):
            aps = devkit_ap(frame_list, cls, d)
            if aps is not None:
                expected[f'kitti/{cls}_{difficulty}_R40'] = aps[0]
                expected[f'kitti/{cls}_{difficulty}_R11'] = aps[1]
    ap50 = [v for k, v in expected.items() if k.startswith('kitti/AP50_')]
    expected['kitti/mAP'] = sum(ap50) / len(ap50)

    assert sorted(results) == sorted(expected)
    for key, value in expected.items():
        # the AP50 of mmdet's average_precision is a float32
        tolerance = 1e-5 if 'AP50' in key or key == 'kitti/mAP' else 1e-9
        assert results[key] == pytest.approx(value, abs=tolerance), key
    # every class has ground truth in these frames; Tram and
    # Person_sitting none that is Easy
    assert len(ap50) == 7
    assert 'kitti/Tram_easy_R40' not in results
    assert 'kitti/Person_sitting_easy_R40' not in results
    # the numbers are neither trivial nor all alike
    values = [v for k, v in expected.items() if k != 'kitti/mAP']
    assert all(0 <= v <= 100 for v in values)
    assert len({round(v, 6) for v in values}) > 20
    assert not any(math.isnan(v) for v in values)
