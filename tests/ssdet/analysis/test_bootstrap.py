"""The paired bootstrap of the AP gap, against pycocotools' COCOeval."""
import contextlib
import io
import json

import numpy as np
import pytest
import torch
from mmengine.fileio import dump
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ssdet.analysis.bootstrap import (ResampledAP, coco_results,
                                      format_interval, load_coco,
                                      paired_bootstrap)
from ssdet.analysis.detections import PredictionFormatError

# Category ids in file order, not sorted: label i is CATEGORIES[i]'s id.
# 'cross' has a crowd region only: no AP, left out of the mean.
CATEGORIES = [dict(id=7, name='disc'), dict(id=2, name='square'),
              dict(id=5, name='ring'), dict(id=1, name='cross')]
NUM_IMAGES = 36


def make_ground_truth(rng):
    """Images of 1-4 objects of the first three categories (and two empty
    images), image ids not in file order, crowd regions in images 3 and 8
    (of 'square' and of 'cross')."""
    images, anns = [], []
    ids = rng.permutation(np.arange(100, 100 + NUM_IMAGES)).tolist()
    for n, img_id in enumerate(ids):
        images.append(dict(id=img_id, file_name=f'{img_id}.png', width=256,
                           height=192))
        for _ in range(0 if n in (5, 17) else rng.integers(1, 5)):
            w, h = rng.uniform(12, 90, 2)
            x, y = rng.uniform(0, 256 - w), rng.uniform(0, 192 - h)
            cat = CATEGORIES[rng.integers(0, 3)]['id']
            anns.append(dict(image_id=img_id, category_id=cat,
                             bbox=[x, y, w, h], area=w * h, iscrowd=0))
    anns.append(dict(image_id=ids[3], category_id=2, bbox=[0, 0, 120, 96],
                     area=120. * 96, iscrowd=1))
    anns.append(dict(image_id=ids[8], category_id=1, bbox=[50, 40, 150, 90],
                     area=150. * 90, iscrowd=1))
    for i, ann in enumerate(anns):
        ann['id'] = i + 1
    return dict(images=images, annotations=anns, categories=CATEGORIES)


def make_detections(gt, rng, recall, jitter):
    """COCO results of a detector that finds a share ``recall`` of the
    objects with boxes jittered by ``jitter`` of their size, adds duplicates
    of equal score and false positives; scores rounded to 0.05 so that
    scores tie across and within images."""
    results = []
    for ann in gt['annotations']:
        x, y, w, h = ann['bbox']
        for _ in range(3 if ann['iscrowd'] else 1):  # boxes on the crowd
            if rng.uniform() > recall and not ann['iscrowd']:
                continue
            dx, dy, dw, dh = rng.normal(0, jitter, 4) * [w, h, w, h]
            box = [x + dx, y + dy, w + dw, h + dh]
            score = round(rng.uniform(0.3, 1.0) * 20) / 20
            results.append(dict(image_id=ann['image_id'],
                                category_id=ann['category_id'], bbox=box,
                                score=score))
            if rng.uniform() < 0.2:  # a looser duplicate of equal score
                results.append(dict(results[-1], bbox=[
                    box[0] + 0.15 * w, box[1], box[2], box[3]]))
    for img in gt['images']:
        for _ in range(rng.integers(0, 3)):
            w, h = rng.uniform(12, 60, 2)
            results.append(dict(
                image_id=img['id'],
                category_id=CATEGORIES[rng.integers(0, 4)]['id'],
                bbox=[rng.uniform(0, 190), rng.uniform(0, 130), w, h],
                score=round(rng.uniform(0.05, 0.8) * 20) / 20))
    return results


def dump_predictions(gt, results, path, img_id_offset=0):
    """``results`` as tools/test.py --out writes them (mmengine
    DumpDetResults: tensors, x1y1x2y2, 0-based labels)."""
    label = {c['id']: i for i, c in enumerate(gt['categories'])}
    items = []
    for img in gt['images']:
        mine = [r for r in results if r['image_id'] == img['id']]
        boxes = [[x, y, x + w, y + h] for x, y, w, h in
                 (r['bbox'] for r in mine)]
        items.append(dict(
            img_id=img['id'] + img_id_offset,
            img_path=img['file_name'],
            pred_instances=dict(
                bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1,
                                                                        4),
                scores=torch.tensor([r['score'] for r in mine],
                                    dtype=torch.float32),
                labels=torch.tensor([label[r['category_id']] for r in mine],
                                    dtype=torch.int64))))
    dump(items, str(path))
    return str(path)


def float32_boxes(results):
    """The results as the dump holds them (float32 x1y1x2y2, float32
    scores), so that COCOeval sees the same numbers."""
    out = []
    for r in results:
        x, y, w, h = r['bbox']
        x1, y1, x2, y2 = np.float32([x, y, x + w, y + h]).tolist()
        out.append(dict(r, bbox=[x1, y1, x2 - x1, y2 - y1],
                        score=float(np.float32(r['score']))))
    return out


def cocoeval_stats(gt, results):
    """COCOeval with its default parameters: (stats[0], stats[1])."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = json.loads(json.dumps(gt))
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(json.loads(
            json.dumps(results))), 'bbox')
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats[0], evaluator.stats[1]


def duplicate(gt, results, counts):
    """The ground truth and results with image ``i`` (in sorted id order)
    copied ``counts[i]`` times under new ids, copies side by side."""
    new_gt = dict(gt, images=[], annotations=[])
    new_results, new_id = [], 0
    for img_id, count in zip(sorted(im['id'] for im in gt['images']),
                             counts):
        image = next(im for im in gt['images'] if im['id'] == img_id)
        for _ in range(count):
            new_id += 1
            new_gt['images'].append(dict(image, id=new_id))
            for ann in gt['annotations']:
                if ann['image_id'] == img_id:
                    new_gt['annotations'].append(dict(
                        ann, image_id=new_id,
                        id=len(new_gt['annotations']) + 1))
            new_results += [dict(r, image_id=new_id) for r in results
                            if r['image_id'] == img_id]
    return new_gt, new_results


@pytest.fixture(scope='module')
def split(tmp_path_factory):
    """A test split and three detectors: ``weak``, ``strong`` (clearly
    better) and ``weak_again`` (the same predictions as ``weak``)."""
    root = tmp_path_factory.mktemp('split')
    rng = np.random.default_rng(0)
    gt = make_ground_truth(rng)
    ann_file = str(root / 'test.json')
    with open(ann_file, 'w') as f:
        json.dump(gt, f)
    results = dict(weak=make_detections(gt, rng, recall=0.55, jitter=0.12),
                   strong=make_detections(gt, rng, recall=0.95,
                                          jitter=0.03))
    files = {name: dump_predictions(gt, res, root / f'{name}.pkl')
             for name, res in results.items()}
    files['weak_again'] = dump_predictions(gt, results['weak'],
                                           root / 'weak_again.pkl')
    results = {name: float32_boxes(res) for name, res in results.items()}
    return dict(root=root, gt=gt, ann_file=ann_file, results=results,
                files=files)


@pytest.mark.parametrize('name', ['weak', 'strong'])
def test_full_set_ap_equals_cocoeval(split, name):
    """AP and AP50 on the whole split are COCOeval's stats[0] and [1]
    (crowd regions, a category without AP, ties in score included)."""
    ap = ResampledAP(
        load_coco(split['ann_file']),
        coco_results(load_coco(split['ann_file']), split['files'][name]))
    expected = cocoeval_stats(split['gt'], split['results'][name])
    assert 0.05 < expected[0] < expected[1] < 0.99  # neither trivial
    assert ap() == pytest.approx(expected, abs=1e-9)


def test_labels_map_to_category_ids_in_file_order(split):
    """Label i is the i-th category of the file (mmdet's cat_ids[label]),
    boxes become x, y, w, h."""
    def key(r):
        return (r['image_id'], r['category_id'], r['score'],
                tuple(np.round(r['bbox'], 3)))

    coco = load_coco(split['ann_file'])
    converted = coco_results(coco, split['files']['weak'])
    assert sorted(map(key, converted)) == sorted(
        map(key, split['results']['weak']))


@pytest.mark.parametrize('counts_seed', [1, 2])
@pytest.mark.parametrize('name', ['weak', 'strong'])
def test_resample_equals_cocoeval_on_duplicated_images(split, name,
                                                       counts_seed):
    """An image drawn twice counts twice, its detections and its ground
    truth both: as COCOeval on a data set holding two copies of it. The
    images with a crowd region are drawn twice."""
    rng = np.random.default_rng(counts_seed)
    counts = np.bincount(rng.integers(0, NUM_IMAGES, NUM_IMAGES),
                         minlength=NUM_IMAGES)
    ids = sorted(im['id'] for im in split['gt']['images'])
    for ann in split['gt']['annotations']:
        if ann['iscrowd']:
            counts[ids.index(ann['image_id'])] = 2
    assert counts.max() >= 3 and (counts == 0).any()
    gt, results = duplicate(split['gt'], split['results'][name], counts)
    expected = cocoeval_stats(gt, results)
    coco = load_coco(split['ann_file'])
    ap = ResampledAP(coco, coco_results(coco, split['files'][name]))
    assert ap(counts) == pytest.approx(expected, abs=1e-9)
    assert ap(counts) != pytest.approx(ap(), abs=1e-6)


def test_a_detector_without_detections_has_zero_ap(split):
    """COCO's loadRes refuses an empty list; the AP is 0, not an error."""
    path = dump_predictions(split['gt'], [], split['root'] / 'none.pkl')
    coco = load_coco(split['ann_file'])
    assert coco_results(coco, path) == []
    assert ResampledAP(coco, [])() == (0.0, 0.0)


def test_identical_detectors_give_a_zero_interval(split):
    """Two files of the same predictions: the same AP on every draw."""
    result = paired_bootstrap(split['ann_file'], split['files']['weak'],
                              split['files']['weak_again'],
                              num_resamples=50)
    for metric in ('AP', 'AP50'):
        r = result[metric]
        assert r['a'] == r['b'] > 0
        assert r['gap'] == r['low'] == r['high'] == 0
        assert r['resamples'] == 50


def test_a_clearly_better_detector_has_an_interval_above_zero(split):
    """Full-set values in percent, the interval around the gap and above
    0, the report line, and the mirror image when a and b swap."""
    result = paired_bootstrap(split['ann_file'], split['files']['weak'],
                              split['files']['strong'], num_resamples=200)
    for metric, index in (('AP', 0), ('AP50', 1)):
        r = result[metric]
        a = cocoeval_stats(split['gt'], split['results']['weak'])[index]
        b = cocoeval_stats(split['gt'], split['results']['strong'])[index]
        assert (r['a'], r['b']) == pytest.approx((a * 100, b * 100),
                                                 abs=1e-7)
        assert r['gap'] == pytest.approx(r['b'] - r['a'])
        assert 0 < r['low'] < r['gap'] < r['high']
    line = format_interval(result)
    r = result['AP50']
    assert line == (f"+{r['gap']:.1f} AP50 [95% CI +{r['low']:.1f}, "
                    f"+{r['high']:.1f}], 200 paired resamples")
    assert format_interval(result, 'AP').startswith(
        f"+{result['AP']['gap']:.1f} AP [95% CI")
    # swapped, the interval is mirrored
    swapped = paired_bootstrap(split['ann_file'], split['files']['strong'],
                               split['files']['weak'], num_resamples=200)
    assert swapped['AP']['low'] == pytest.approx(-result['AP']['high'])
    assert swapped['AP']['high'] == pytest.approx(-result['AP']['low'])


def test_the_same_seed_gives_the_same_interval(split):
    args = (split['ann_file'], split['files']['weak'],
            split['files']['strong'])
    first = paired_bootstrap(*args, num_resamples=30, seed=3)
    assert paired_bootstrap(*args, num_resamples=30, seed=3) == first
    other = paired_bootstrap(*args, num_resamples=30, seed=4)
    assert other['AP']['gap'] == first['AP']['gap']
    assert (other['AP']['low'], other['AP']['high']) != (first['AP']['low'],
                                                         first['AP']['high'])


def test_mismatched_files_are_named(split):
    """Predictions of another split, of part of this one, or with more
    classes, and a file that is not COCO: errors that name the file."""
    gt, root, files = split['gt'], split['root'], split['files']
    results = split['results']['weak']
    other_set = dump_predictions(gt, results, root / 'other_set.pkl',
                                 img_id_offset=1000)
    with pytest.raises(PredictionFormatError,
                       match=r'other_set\.pkl: 36 of its 36 image ids are '
                       r'not in .*test\.json .*0 shared'):
        paired_bootstrap(split['ann_file'], files['weak'], other_set)

    part = dict(gt, images=gt['images'][:30])
    partial = dump_predictions(part, results, root / 'partial.pkl')
    with pytest.raises(PredictionFormatError,
                       match=r'partial\.pkl: no predictions for 6 of the 36 '
                       r'images of .*test\.json'):
        paired_bootstrap(split['ann_file'], partial, files['weak'])

    more = dict(gt, categories=CATEGORIES + [dict(id=9, name='star')])
    extra = [dict(r, category_id=9) for r in results[:2]]
    more_classes = dump_predictions(more, results + extra,
                                    root / 'more_classes.pkl')
    with pytest.raises(PredictionFormatError,
                       match=r'more_classes\.pkl: .* label 4 .* 4 '
                       'categories'):
        paired_bootstrap(split['ann_file'], files['weak'], more_classes)

    not_coco = root / 'not_coco.json'
    not_coco.write_text('[1, 2]')
    with pytest.raises(ValueError, match='not_coco.json: not read as a COCO'):
        paired_bootstrap(str(not_coco), files['weak'], files['strong'])


def test_bad_arguments(split):
    args = (split['ann_file'], split['files']['weak'],
            split['files']['strong'])
    with pytest.raises(ValueError, match='level'):
        paired_bootstrap(*args, level=95)
    with pytest.raises(ValueError, match='num_resamples'):
        paired_bootstrap(*args, num_resamples=0)
