"""Tests of custom_modules/evaluation/kitti_eval.py with hand-computed
expectations (derivations in the comments) and a literal, loop-by-loop
transliteration of the devkit's ``evaluate_object.cpp`` as an oracle for
the vectorised implementation."""
import math
import re

import numpy as np
import pytest

from custom_modules.evaluation.kitti_eval import (MIN_HEIGHT, MIN_OVERLAP,
                                                  N_SAMPLE_PTS, ap_r11, ap_r40,
                                                  clean_frame, eval_ap,
                                                  eval_class, format_table,
                                                  get_thresholds, kitti_eval,
                                                  overlap_matrix,
                                                  prepare_frame)

R11_ONE = 100 / 11  # one of the 11 points at precision 1


def gt(*objs):
    """objs: (name, box, truncated=0, occluded=0)."""
    objs = [tuple(o) + (0.0, 0)[len(o) - 2:] for o in objs]
    return dict(
        name=[o[0] for o in objs],
        bbox=np.array([o[1] for o in objs], dtype=np.float64).reshape(-1, 4),
        truncated=np.array([o[2] for o in objs], dtype=np.float64),
        occluded=np.array([o[3] for o in objs], dtype=np.int64))


def det(*objs):
    """objs: (name, box, score)."""
    return dict(
        name=[o[0] for o in objs],
        bbox=np.array([o[1] for o in objs], dtype=np.float64).reshape(-1, 4),
        score=np.array([o[2] for o in objs], dtype=np.float64))


def cars(n, height=50.0, name='Car'):
    """n well separated boxes of the given height."""
    return [(name, [i * 100.0, 100.0, i * 100.0 + 80.0, 100.0 + height])
            for i in range(n)]


def scores(n):
    return [1.0 - 0.01 * i for i in range(n)]


def box_overlap(a, b, criterion=-1):
    """The devkit's scalar ``boxoverlap``, the oracle's overlap."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return inter / {-1: area_a + area_b - inter, 0: area_a, 1: area_b}[
        criterion]


def clean_data(cls, g, d, difficulty):
    return clean_frame(prepare_frame(g, d), cls, difficulty)


def evaluate(gts, dets, cls='Car', difficulty=1):
    out = eval_class(gts, dets, cls, difficulty)
    return ap_r40(out['precision']), ap_r11(out['precision']), out


# ---------------------------------------------------------------- basics


def test_overlap_criteria():
    a, b = [0, 0, 10, 10], [5, 0, 25, 10]
    assert overlap_matrix([a], [b])[0, 0] == pytest.approx(50 / 250)
    assert overlap_matrix([a], [b], 0)[0, 0] == pytest.approx(0.5)
    assert overlap_matrix([a], [b], 1)[0, 0] == pytest.approx(0.25)
    # touching: no overlap
    assert overlap_matrix([a], [[10, 0, 20, 10]])[0, 0] == 0
    m = overlap_matrix(np.array([a, b]), np.array([b, a, [50, 50, 60, 60]]))
    assert m.shape == (2, 3)
    # bit for bit the devkit's scalar arithmetic
    assert m[0, 0] == box_overlap(a, b) and m[1, 1] == box_overlap(b, a)
    assert m[0, 2] == 0
    with pytest.raises(ValueError, match='criterion'):
        overlap_matrix([a], [b], 2)


def test_thresholds_are_true_positive_scores():
    # 10 ground truth, 10 TPs: every score is kept (recall 0.1, 0.2, ... is
    # always ahead of the 1/40 steps)
    assert get_thresholds(scores(10), 10) == scores(10)
    # 80 ground truth, 80 TPs: the first, then every second score: 41
    t = get_thresholds(scores(80), 80)
    assert len(t) == 41
    assert t[:3] == [1.0, 0.99, 0.97]
    assert get_thresholds([], 5) == []


# --------------------------------------------------- hand-computed cases


def test_perfect_detections_10_boxes():
    # 10 thresholds; precision[0..9] = 1, precision[10..40] = 0:
    # R40 = 9/40, R11 = 3/11 (points 0, 4, 8). Not 100: devkit quirk.
    g = gt(*cars(10))
    d = det(*[(n, b, s) for (n, b), s in zip(cars(10), scores(10))])
    for difficulty in range(3):
        r40, r11, _ = evaluate([g], [d], difficulty=difficulty)
        assert r40 == pytest.approx(22.5)
        assert r11 == pytest.approx(27.2727, abs=1e-4)
    ap, n = eval_ap([g], [d], 'Car')
    assert (ap, n) == (pytest.approx(100.0), 10)


def test_perfect_detections_40_boxes():
    # 40 thresholds: precision[0..39] = 1: R40 = 39/40, R11 = 10/11
    g = gt(*cars(40))
    d = det(*[(n, b, s) for (n, b), s in zip(cars(40), scores(40))])
    r40, r11, _ = evaluate([g], [d])
    assert r40 == pytest.approx(97.5)
    assert r11 == pytest.approx(1000 / 11)


def test_perfect_detections_80_boxes_reach_100():
    g = gt(*cars(80))
    d = det(*[(n, b, s) for (n, b), s in zip(cars(80), scores(80))])
    r40, r11, _ = evaluate([g], [d])
    assert r40 == pytest.approx(100.0) and r11 == pytest.approx(100.0)


def test_one_missed():
    # 9 TPs of 10: 9 thresholds, precision[0..8] = 1: R40 = 8/40,
    # R11 = 3/11; VOC AP = recall 0.9 at precision 1
    g = gt(*cars(10))
    d = det(*[(n, b, s) for (n, b), s in zip(cars(9), scores(9))])
    r40, r11, out = evaluate([g], [d])
    assert r40 == pytest.approx(20.0)
    assert r11 == pytest.approx(3 * R11_ONE)
    assert out['recall'][-1] == pytest.approx(0.9)
    assert eval_ap([g], [d], 'Car')[0] == pytest.approx(90.0)


def _ten_plus(extra_gt, extra_det):
    g = gt(*cars(10), *extra_gt)
    d = det(*[(n, b, s) for (n, b), s in zip(cars(10), scores(10))],
            *extra_det)
    return g, d


FAR_BOX = [50.0, 250.0, 130.0, 300.0]  # 50 px high, overlaps nothing


def test_one_false_positive_scored_highest():
    # the FP (score 2) is above every threshold: precision[k] = (k+1)/(k+2)
    # rising to 10/11, so after the max-to-the-right filter all ten are
    # 10/11: R40 = 9 * (10/11) / 40, R11 = 3 * (10/11) / 11
    g, d = _ten_plus([], [('Car', FAR_BOX, 2.0)])
    r40, r11, _ = evaluate([g], [d])
    assert r40 == pytest.approx(9 * 10 / 11 / 40 * 100)
    assert r11 == pytest.approx(3 * 10 / 11 / 11 * 100)
    # VOC: the envelope is 10/11 at every recall
    assert eval_ap([g], [d], 'Car')[0] == pytest.approx(1000 / 11)


def test_false_positive_scored_lowest_is_below_every_threshold():
    g, d = _ten_plus([], [('Car', FAR_BOX, 0.01)])
    assert evaluate([g], [d])[0] == pytest.approx(22.5)
    assert eval_ap([g], [d], 'Car')[0] == pytest.approx(100.0)


def test_false_positive_inside_dontcare_is_not_counted():
    # DontCare region around FAR_BOX: overlap over the detection's area is
    # 1 > 0.7, though the IoU is small; 'dontcare' matches case-insensitively
    region = [0.0, 200.0, 400.0, 370.0]
    assert box_overlap(FAR_BOX, region) < 0.1
    for name in ('DontCare', 'dontcare'):
        g, d = _ten_plus([(name, region, -1, -1)], [('Car', FAR_BOX, 2.0)])
        assert evaluate([g], [d])[0] == pytest.approx(22.5)
        assert eval_ap([g], [d], 'Car')[0] == pytest.approx(100.0)
    # a detection half inside the region (0.5 < 0.7) stays a FP
    half = [380.0, 250.0, 420.0, 300.0]
    g, d = _ten_plus([('DontCare', region, -1, -1)], [('Car', half, 2.0)])
    assert evaluate([g], [d])[0] == pytest.approx(9 * 10 / 11 / 40 * 100)


def test_detection_matched_to_van_is_neither_tp_nor_fp():
    van = ('Van', [50.0, 250.0, 130.0, 300.0])
    g, d = _ten_plus([van], [('Car', van[1], 2.0)])
    assert evaluate([g], [d])[0] == pytest.approx(22.5)
    # same for a Person_sitting under a Pedestrian detection
    ped = [(n, b, s)
           for (n, b), s in zip(cars(10, name='Pedestrian'), scores(10))]
    g2 = gt(*cars(10, name='Pedestrian'),
            ('Person_sitting', [50.0, 250.0, 130.0, 300.0]))
    d2 = det(*ped, ('Pedestrian', [50.0, 250.0, 130.0, 300.0], 2.0))
    assert evaluate([g2], [d2], 'Pedestrian')[0] == pytest.approx(22.5)
    # a Truck is no neighbour of Car: the detection is a false positive
    g3, d3 = _ten_plus([('Truck', van[1])], [('Car', van[1], 2.0)])
    assert evaluate([g3], [d3])[0] == pytest.approx(9 * 10 / 11 / 40 * 100)
    # the paper table has no neighbour classes: a FP there
    assert eval_ap([g], [d], 'Car')[0] == pytest.approx(1000 / 11)


@pytest.mark.parametrize('cls', sorted(MIN_OVERLAP))
def test_iou_exactly_at_and_above_threshold(cls):
    name = {
        'car': 'Car',
        'van': 'Van',
        'truck': 'Truck',
        'tram': 'Tram',
        'pedestrian': 'Pedestrian',
        'person_sitting': 'Person_sitting',
        'cyclist': 'Cyclist'
    }[cls]
    thr = MIN_OVERLAP[cls]
    box = [0.0, 0.0, 100.0, 100.0]
    at = [0.0, 0.0, 100.0 * thr, 100.0]  # IoU == thr exactly
    above = [0.0, 0.0, 100.0 * thr + 1.0, 100.0]
    assert box_overlap(at, box) == thr
    g = gt((name, box))
    # one valid ground truth, one TP: one threshold, precision[0] = 1, so
    # R11 = 1/11 (R40 = 0, it skips recall 0); no match: 0
    _, r11_at, _ = evaluate([g], [det((name, at, 1.0))], name)
    _, r11_above, _ = evaluate([g], [det((name, above, 1.0))], name)
    assert r11_at == 0.0
    assert r11_above == pytest.approx(R11_ONE)


def test_iou_at_threshold_is_no_match_in_either_pass():
    # A: its only detection has IoU exactly 0.7 (score 0.9); B: perfect
    # (score 0.5). Neither pass may match A: one threshold (0.5), A a FN.
    a = [0.0, 0.0, 100.0, 100.0]
    b = [200.0, 0.0, 300.0, 100.0]
    g = gt(('Car', a), ('Car', b))
    d = det(('Car', [0.0, 0.0, 70.0, 100.0], 0.9), ('Car', b, 0.5))
    out = eval_class([g], [d], 'Car', 1)
    assert out['thresholds'].tolist() == [0.5]
    assert out['recall'].tolist() == [0.5]
    assert out['precision'][0] == 0.5  # the 0.9 detection is a FP


def test_score_pass_takes_highest_score_precision_pass_greatest_iou():
    # Pedestrians A and B (IoU 0.43); d2 = A exactly (score 0.9), d1 in
    # between (IoU 0.67 with both, score 0.8, listed first). Thresholds:
    # A takes the best score d2, B takes d1: [0.9, 0.8]. At 0.8, A takes
    # the greatest IoU (d2, not the first listed d1), so B still gets d1.
    a = [0.0, 0.0, 100.0, 100.0]
    b = [40.0, 0.0, 140.0, 100.0]
    g = gt(('Pedestrian', a), ('Pedestrian', b))
    d = det(('Pedestrian', [20.0, 0.0, 120.0, 100.0], 0.8),
            ('Pedestrian', a, 0.9))
    out = eval_class([g], [d], 'Pedestrian', 1)
    assert out['thresholds'].tolist() == [0.9, 0.8]
    assert out['recall'].tolist() == [0.5, 1.0]
    assert out['precision'][:2].tolist() == [1.0, 1.0]


def test_paper_table_iou_half_inclusive():
    box = [0.0, 0.0, 100.0, 100.0]
    g = gt(('Cyclist', box))
    at = det(('Cyclist', [0.0, 0.0, 50.0, 100.0], 1.0))  # IoU 0.5
    below = det(('Cyclist', [0.0, 0.0, 49.0, 100.0], 1.0))
    assert eval_ap([g], [at], 'Cyclist')[0] == pytest.approx(100.0)
    assert eval_ap([g], [below], 'Cyclist')[0] == 0.0


@pytest.mark.parametrize('difficulty', [0, 1, 2])
def test_ground_truth_height_at_the_limit_is_ignored(difficulty):
    limit = MIN_HEIGHT[difficulty]
    at = [0.0, 100.0, 100.0, 100.0 + limit]
    above = [0.0, 100.0, 100.0, 100.0 + limit + 0.5]
    ign_gt, _, _, n_gt = clean_data('Car', gt(('Car', at)), det(), difficulty)
    assert (ign_gt.tolist(), n_gt) == ([1], 0)
    ign_gt, _, _, n_gt = clean_data('Car', gt(('Car', above)), det(),
                                    difficulty)
    assert (ign_gt.tolist(), n_gt) == ([0], 1)
    # a matching detection of an ignored ground truth is no false positive
    out = eval_class([gt(('Car', at))], [det(('Car', at, 1.0))], 'Car',
                     difficulty)
    assert out['n_gt'] == 0 and not out['precision'].any()


@pytest.mark.parametrize('difficulty', [0, 1, 2])
def test_detection_height_truncated_to_int(difficulty):
    limit = MIN_HEIGHT[difficulty]
    for height, ignored in ((limit - 0.01, 1), (limit, 0), (limit - 1, 1)):
        box = [0.0, 100.0, 100.0, 100.0 + height]
        _, _, ign_det, _ = clean_data('Car', gt(), det(('Car', box, 1.0)),
                                      difficulty)
        assert ign_det.tolist() == [ignored]
    # too small detections are ignored whatever their class
    small = [0.0, 100.0, 100.0, 100.0 + limit - 1]
    _, _, ign_det, _ = clean_data('Car', gt(), det(('Pedestrian', small, 1.0)),
                                  difficulty)
    assert ign_det.tolist() == [1]


def test_small_detection_of_any_class_absorbs_ground_truth():
    # Easy: two valid cars (45 px). A is found by a valid car detection;
    # B only by a 39.9 px detection (int height 39 < 40: ignored), here a
    # Pedestrian. B is absorbed: no FN, no TP, and the detection no FP.
    a = [0.0, 100.0, 100.0, 145.0]
    b = [200.0, 100.0, 300.0, 145.0]
    small_b = [200.0, 100.0, 300.0, 139.9]  # IoU 39.9/45 > 0.7
    g = gt(('Car', a), ('Car', b))
    for name in ('Car', 'Pedestrian'):
        d = det(('Car', a, 0.9), (name, small_b, 0.95))
        out = eval_class([g], [d], 'Car', 0)
        assert out['n_gt'] == 2
        assert out['thresholds'].tolist() == [0.9]
        assert out['recall'].tolist() == [1.0]  # tp 1, fn 0
        assert out['precision'][0] == 1.0
    # Moderate: 39 >= 25, so the Pedestrian detection is of another class
    # (not evaluated) and B is a false negative
    d = det(('Car', a, 0.9), ('Pedestrian', small_b, 0.95))
    out = eval_class([g], [d], 'Car', 1)
    assert out['recall'].tolist() == [0.5]


def test_truncation_and_occlusion_limits_compare_greater():
    box = [0.0, 100.0, 100.0, 200.0]
    # Easy: truncation 0.15 and occlusion 0 are still valid
    assert clean_data('Car', gt(('Car', box, 0.15, 0)), det(), 0)[3] == 1
    assert clean_data('Car', gt(('Car', box, 0.16, 0)), det(), 0)[3] == 0
    assert clean_data('Car', gt(('Car', box, 0.16, 0)), det(), 1)[3] == 1
    assert clean_data('Car', gt(('Car', box, 0.0, 1)), det(), 0)[3] == 0
    assert clean_data('Car', gt(('Car', box, 0.3, 1)), det(), 1)[3] == 1
    assert clean_data('Car', gt(('Car', box, 0.5, 2)), det(), 2)[3] == 1
    assert clean_data('Car', gt(('Car', box, 0.5, 3)), det(), 2)[3] == 0
    assert clean_data('Car', gt(('Car', box, 0.51, 2)), det(), 2)[3] == 0


def test_kitti_eval_absent_classes_and_mean():
    g = gt(*cars(10))
    d = det(*[(n, b, s) for (n, b), s in zip(cars(9), scores(9))])
    res = kitti_eval([g], [d], ['Car', 'Tram'])
    assert res['ap50']['Car'] == pytest.approx(90.0)
    assert math.isnan(res['ap50']['Tram'])
    assert res['mAP'] == pytest.approx(90.0)  # Tram excluded
    assert math.isnan(res['devkit']['Tram']['easy']['R40'])
    table = format_table(res)
    assert re.search(r'\| Tram +\| n/a +\| 0 +\|', table)
    assert re.search(r'\| Car +\| 90.00 +\| 10 +\|', table)
    assert 'Moderate R40' in table


# --------------------------------------------------- the real fixture


def _fixture_annos(kitti_root):
    import glob
    import os.path as osp

    from ssdet.data.kitti import parse_label_file
    gts = []
    for path in sorted(
            glob.glob(osp.join(kitti_root, 'training', 'label_2', '*.txt'))):
        objs = parse_label_file(path)
        gts.append(
            gt(*[(o.type, list(o.bbox), o.truncated, o.occluded)
                 for o in objs]))
    return gts


def test_fixture_ground_truth_as_detections(kitti_root):
    gts = _fixture_annos(kitti_root)
    dts = []
    for g in gts:
        keep = [n not in ('DontCare', 'Misc') for n in g['name']]
        dts.append(
            det(*[(n, b, 1.0) for n, b, k in zip(g['name'], g['bbox'], keep)
                  if k]))
    for g in gts:
        g['category'] = [None if n == 'Misc' else n for n in g['name']]
    res = kitti_eval(gts, dts)
    for cls in ('Car', 'Truck', 'Pedestrian', 'Cyclist'):
        assert res['ap50'][cls] == pytest.approx(100.0)
    for cls in ('Van', 'Person_sitting', 'Tram'):
        assert math.isnan(res['ap50'][cls])
    assert res['mAP'] == pytest.approx(100.0)
    dev = res['devkit']
    # Cars: 21.6 px (ignored), 33.3, 103.0, 30.5, 20.7 px high, all
    # unoccluded: Easy has 1 valid (R40 0, R11 1/11), Moderate and Hard 3
    # (3 thresholds: R40 2/40, R11 1/11)
    assert dev['Car']['easy']['n_gt'] == 1
    assert dev['Car']['easy']['R40'] == 0.0
    assert dev['Car']['easy']['R11'] == pytest.approx(R11_ONE)
    for d in ('moderate', 'hard'):
        assert dev['Car'][d]['n_gt'] == 3
        assert dev['Car'][d]['R40'] == pytest.approx(5.0)
        assert dev['Car'][d]['R11'] == pytest.approx(R11_ONE)
    # Pedestrians: 164.9 and 59.9 px: 2 valid everywhere
    for d in ('easy', 'moderate', 'hard'):
        assert dev['Pedestrian'][d]['R40'] == pytest.approx(2.5)
    # the Truck is 32.9 px high: not Easy
    assert math.isnan(dev['Truck']['easy']['R40'])
    assert dev['Truck']['moderate']['R11'] == pytest.approx(R11_ONE)
    # the Cyclist has occlusion 3: never valid
    assert all(dev['Cyclist'][d]['n_gt'] == 0 for d in dev['Cyclist'])


# --------------------------------------- oracle: the devkit, loop by loop


def _devkit_eval_class(gts, dets, cls, difficulty):
    """Direct transliteration of cleanData / computeStatistics /
    eval_class of evaluate_object.cpp (image metric)."""
    min_ov = MIN_OVERLAP[cls.lower()]
    no_det = -10000000.0

    def clean(g, d):
        ign_gt, dc, ign_det, n = [], [], [], 0
        for i, name in enumerate(g['name']):
            height = g['bbox'][i][3] - g['bbox'][i][1]
            if name.lower() == cls.lower():
                valid = 1
            elif (cls.lower() == 'pedestrian'
                  and name.lower() == 'person_sitting'):
                valid = 0
            elif cls.lower() == 'car' and name.lower() == 'van':
                valid = 0
            else:
                valid = -1
            ignore = (
                g['occluded'][i] > (0, 1, 2)[difficulty]
                or g['truncated'][i] > (0.15, 0.3, 0.5)[difficulty]
                or height <= MIN_HEIGHT[difficulty])
            if valid == 1 and not ignore:
                ign_gt.append(0)
                n += 1
            elif valid == 0 or (ignore and valid == 1):
                ign_gt.append(1)
            else:
                ign_gt.append(-1)
        for i, name in enumerate(g['name']):
            if name.lower() == 'dontcare':
                dc.append(g['bbox'][i])
        for j, name in enumerate(d['name']):
            valid = 1 if name.lower() == cls.lower() else -1
            height = int(abs(d['bbox'][j][1] - d['bbox'][j][3]))
            if height < MIN_HEIGHT[difficulty]:
                ign_det.append(1)
            elif valid == 1:
                ign_det.append(0)
            else:
                ign_det.append(-1)
        return ign_gt, dc, ign_det, n

    def stats(g, d, dc, ign_gt, ign_det, compute_fp, thresh=0.0):
        tp = fp = fn = 0
        v = []
        nd = len(d['name'])
        assigned = [False] * nd
        ign_thr = [False] * nd
        if compute_fp:
            for j in range(nd):
                if d['score'][j] < thresh:
                    ign_thr[j] = True
        for i in range(len(g['name'])):
            if ign_gt[i] == -1:
                continue
            det_idx, valid_det, max_ov, ass_ign = -1, no_det, 0.0, False
            for j in range(nd):
                if ign_det[j] == -1 or assigned[j] or ign_thr[j]:
                    continue
                ov = box_overlap(d['bbox'][j], g['bbox'][i], -1)
                if (not compute_fp and ov > min_ov
                        and d['score'][j] > valid_det):
                    det_idx, valid_det = j, d['score'][j]
                elif (compute_fp and ov > min_ov and (ov > max_ov or ass_ign)
                      and ign_det[j] == 0):
                    max_ov, det_idx, valid_det, ass_ign = ov, j, 1, False
                elif (compute_fp and ov > min_ov and valid_det == no_det
                      and ign_det[j] == 1):
                    det_idx, valid_det, ass_ign = j, 1, True
            if valid_det == no_det and ign_gt[i] == 0:
                fn += 1
            elif valid_det != no_det and (ign_gt[i] == 1
                                          or ign_det[det_idx] == 1):
                assigned[det_idx] = True
            elif valid_det != no_det:
                tp += 1
                v.append(d['score'][det_idx])
                assigned[det_idx] = True
        if compute_fp:
            for j in range(nd):
                if not (assigned[j] or ign_det[j] in (-1, 1) or ign_thr[j]):
                    fp += 1
            nstuff = 0
            for box in dc:
                for j in range(nd):
                    if assigned[j] or ign_det[j] in (-1, 1) or ign_thr[j]:
                        continue
                    if box_overlap(d['bbox'][j], box, 0) > min_ov:
                        assigned[j] = True
                        nstuff += 1
            fp -= nstuff
        return tp, fp, fn, v

    n_gt, v, cleaned = 0, [], []
    for g, d in zip(gts, dets):
        ign_gt, dc, ign_det, n = clean(g, d)
        n_gt += n
        cleaned.append((ign_gt, dc, ign_det))
        v += stats(g, d, dc, ign_gt, ign_det, False)[3]
    thresholds = get_thresholds(v, n_gt)
    tps = [0] * len(thresholds)
    fps = [0] * len(thresholds)
    for (g, d), (ign_gt, dc, ign_det) in zip(zip(gts, dets), cleaned):
        for t, thr in enumerate(thresholds):
            tp, fp, _, _ = stats(g, d, dc, ign_gt, ign_det, True, thr)
            tps[t] += tp
            fps[t] += fp
    precision = [0.0] * N_SAMPLE_PTS
    for t in range(len(thresholds)):
        precision[t] = tps[t] / (tps[t] + fps[t])
    for t in range(len(thresholds)):
        precision[t] = max(precision[t:])
    return np.array(precision)


def _random_frame(rng):
    """Crowded frames: overlapping boxes, heights near the limits, ignored
    and neighbour classes, DontCare regions, duplicates and clutter."""
    names = [
        'Car', 'Car', 'Van', 'Pedestrian', 'Pedestrian', 'Person_sitting',
        'Cyclist', 'DontCare', 'Misc'
    ]
    g_objs = []
    for _ in range(rng.integers(0, 9)):
        x, y = rng.uniform(0, 300), rng.uniform(0, 100)
        w = rng.uniform(20, 120)
        h = float(rng.choice([rng.uniform(20, 120), 25.0, 40.0, 40.5]))
        g_objs.append(
            (str(rng.choice(names)), [x, y, x + w, y + h],
             float(rng.choice([0.0, 0.0, 0.15, 0.3, 0.45,
                               0.6])), int(rng.choice([0, 0, 1, 2, 3]))))
    d_objs = []
    for o in g_objs:  # jittered copies, sometimes two
        if o[0] == 'Misc':
            continue
        for _ in range(rng.choice([0, 1, 1, 1, 2])):
            jitter = rng.normal(0, 2.5, 4)
            box = [a + b for a, b in zip(o[1], jitter)]
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            name = o[0] if rng.random() < 0.8 else str(rng.choice(names[:7]))
            if name == 'DontCare':
                name = 'Car'
            d_objs.append((name, box, float(np.round(rng.random(), 2))))
    for _ in range(rng.integers(0, 5)):  # clutter, some of it small
        x, y = rng.uniform(0, 300), rng.uniform(0, 100)
        box = [x, y, x + rng.uniform(10, 100), y + rng.uniform(10, 100)]
        d_objs.append(
            (str(rng.choice(names[:7])), box, float(np.round(rng.random(),
                                                             2))))
    return gt(*g_objs), det(*d_objs)


@pytest.mark.parametrize('seed', range(6))
def test_matches_devkit_transliteration(seed):
    rng = np.random.default_rng(seed)
    frames = [_random_frame(rng) for _ in range(30)]
    gts = [f[0] for f in frames]
    dets = [f[1] for f in frames]
    for cls in ('Car', 'Pedestrian', 'Cyclist'):
        for difficulty in range(3):
            ours = eval_class(gts, dets, cls, difficulty)['precision']
            ref = _devkit_eval_class(gts, dets, cls, difficulty)
            np.testing.assert_array_equal(ours, ref)
