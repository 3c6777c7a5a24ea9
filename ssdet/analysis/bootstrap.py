"""Paired bootstrap interval for the COCO AP difference of two detectors.

Two detectors tested on the same images differ by some AP; how much of that
gap is the luck of the test images? :func:`paired_bootstrap` draws the test
images with replacement many times and evaluates both detectors on the SAME
draw, so the spread of the gap over the draws (its percentile interval)
shows how much it depends on which images happened to be in the split
(Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13).

The AP is COCO's bbox AP (IoU .50:.95) and AP50 as pycocotools computes
them: on the full set the values equal ``COCOeval.stats[0]`` / ``[1]``,
which mmdet's ``CocoMetric`` logs as ``coco/bbox_mAP`` / ``_50`` (it
matches up to 1000 detections per image but reads these two at 100, which
gives the same numbers).
pycocotools' :meth:`COCOeval.evaluate` (the per-image, per-category
matching at the ten IoU thresholds; area range 'all', 100 detections per
image) runs once per detector; each draw only re-does
:meth:`COCOeval.accumulate` in numpy, on the multiset of drawn images: an
image drawn twice counts twice, its detections and its ground truth both.
The result equals ``COCOeval`` run on a data set in which each drawn image
is copied under new ids, the copies in the order of the original ids and
side by side (the order decides only between detections of equal score).

Predictions are ``tools/test.py --out`` dumps, read with
:func:`ssdet.analysis.detections.load_predictions` (nothing in them runs).
Their labels map to COCO category ids as mmdet's ``CocoMetric`` maps them
(``cat_ids = coco.get_cat_ids(cat_names=classes)``, then
``cat_ids[label]``), with the classes of the COCO file's categories in file
order, which is what a config's ``metainfo.classes`` lists when it names
every category of the file.
"""
import contextlib
import io
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ssdet.analysis.detections import PredictionFormatError, load_predictions

METRICS = ('AP', 'AP50')


def _quiet():
    """pycocotools prints its progress; the tools using this module do
    not."""
    return contextlib.redirect_stdout(io.StringIO())


def load_coco(ann_file: str) -> COCO:
    """The ground truth of a COCO annotation file as a pycocotools ``COCO``.

    Raises:
        ValueError: The file is not a COCO detection file with images and
            categories.
    """
    try:
        with _quiet():
            coco = COCO(ann_file)
    except (OSError, ValueError, AssertionError) as e:
        raise ValueError(f'{ann_file}: not read as a COCO annotation file '
                         f'({type(e).__name__}: {e})') from e
    for key in ('images', 'categories', 'annotations'):
        if not isinstance(coco.dataset.get(key), list):
            raise ValueError(
                f'{ann_file}: no "{key}" list; give the COCO annotation file '
                'of the test split (e.g. annotations/val.json)')
    if not coco.getImgIds() or not coco.getCatIds():
        raise ValueError(f'{ann_file}: no images or no categories')
    return coco


def coco_results(coco: COCO,
                 preds_path: str,
                 ann_file: str = 'the ground truth') -> List[dict]:
    """A predictions file as COCO bbox results, as mmdet's ``CocoMetric``
    writes them (``results2json``).

    Args:
        coco (COCO): The ground truth of the test split.
        preds_path (str): A ``tools/test.py --out`` file of that split.
        ann_file (str): Name of the ground truth in error messages.

    Raises:
        PredictionFormatError: The file is not a predictions file, or not
            one of this test split: an image id the ground truth lacks, an
            image of the ground truth without predictions, a label beyond
            its categories, or a box or score that is not a finite number.
    """
    preds = load_predictions(preds_path)
    img_ids = set(coco.getImgIds())
    foreign = [k for k in preds if k not in img_ids]
    if foreign:
        shared = len(preds) - len(foreign)
        raise PredictionFormatError(
            f'{preds_path}: {len(foreign)} of its {len(preds)} image ids are '
            f'not in {ann_file} (e.g. {foreign[:3]}; {shared} shared); was it '
            'made on this test split?')
    missing = sorted(img_ids - set(preds))
    if missing:
        raise PredictionFormatError(
            f'{preds_path}: no predictions for {len(missing)} of the '
            f'{len(img_ids)} images of {ann_file} (e.g. ids {missing[:3]}); '
            'test on the whole split with tools/test.py --out')
    classes = [c['name'] for c in coco.dataset['categories']]
    cat_ids = coco.getCatIds(catNms=classes)
    results = []
    for img_id in sorted(preds):
        pred = preds[img_id]
        bboxes, scores, labels = pred['bboxes'], pred['scores'], pred[
            'labels']
        if not len(bboxes) == len(scores) == len(labels):
            raise PredictionFormatError(
                f'{preds_path}: image {img_id} has {len(bboxes)} boxes, '
                f'{len(scores)} scores and {len(labels)} labels')
        if len(labels) and (labels.min() < 0
                            or labels.max() >= len(cat_ids)):
            raise PredictionFormatError(
                f'{preds_path}: image {img_id} has label {labels.max()} but '
                f'{ann_file} has {len(cat_ids)} categories (labels 0..'
                f'{len(cat_ids) - 1}); was it made with these classes?')
        if not (np.isfinite(bboxes).all() and np.isfinite(scores).all()):
            raise PredictionFormatError(
                f'{preds_path}: image {img_id} has a box or score that is '
                'not a finite number')
        for box, score, label in zip(bboxes.tolist(), scores.tolist(),
                                     labels.tolist()):
            results.append(
                dict(image_id=img_id,
                     bbox=[box[0], box[1], box[2] - box[0], box[3] - box[1]],
                     score=score,
                     category_id=cat_ids[label]))
    return results


class ResampledAP:
    """COCO bbox AP and AP50 of one detector on any multiset of the test
    images.

    pycocotools' ``COCOeval.evaluate`` matches the detections once (area
    range 'all', at most 100 detections per image); :meth:`__call__`
    re-accumulates the matches over a multiset of the images as
    ``COCOeval.accumulate`` does: detections of every drawn image, in score
    order (mergesort) across the images, true and false positives counted
    cumulatively, detections matched to ignored (crowd) ground truth and
    ignored ground truth left out, the precision made monotone from the
    right and read at the 101 recall thresholds; a category without
    (non-ignored) ground truth in the draw has no AP and is left out of the
    mean.

    Args:
        coco (COCO): The ground truth, from :func:`load_coco`.
        results (list[dict]): COCO bbox results, from :func:`coco_results`.
    """

    MAX_DETS = 100

    def __init__(self, coco: COCO, results: Sequence[dict]):
        with _quiet():
            if results:  # loadRes adds keys: give it copies
                dets = coco.loadRes([dict(r) for r in results])
            else:  # loadRes cannot read an empty list; nothing to match
                dets = COCO()
                dets.dataset = dict(images=coco.dataset['images'],
                                    categories=coco.dataset['categories'],
                                    annotations=[])
                dets.createIndex()
            evaluator = COCOeval(coco, dets, 'bbox')
            params = evaluator.params
            params.areaRng = [params.areaRng[params.areaRngLbl.index('all')]]
            params.areaRngLbl = ['all']
            params.maxDets = [self.MAX_DETS]
            evaluator.evaluate()
        self.iou_thrs = params.iouThrs
        self.rec_thrs = params.recThrs
        self.img_ids = list(params.imgIds)
        num_images = len(self.img_ids)
        self.categories = [
            self._category(evaluator.evalImgs[k * num_images:(k + 1) *
                                              num_images])
            for k in range(len(params.catIds))
        ]

    def _category(self, per_image: Sequence[Optional[dict]]) -> dict:
        """One category's matches, in score order over all the images, and
        its non-ignored ground truth per image."""
        num_thrs = len(self.iou_thrs)
        scores, image, matched, ignored = [], [], [], []
        num_gt = np.zeros(len(per_image), dtype=np.int64)
        for i, e in enumerate(per_image):
            if e is None:  # no ground truth and no detection
                continue
            num_gt[i] = np.count_nonzero(e['gtIgnore'] == 0)
            n = min(len(e['dtScores']), self.MAX_DETS)
            scores.append(np.asarray(e['dtScores'][:n], dtype=np.float64))
            image.append(np.full(n, i, dtype=np.int64))
            matched.append(e['dtMatches'][:, :n] != 0)
            ignored.append(e['dtIgnore'][:, :n].astype(bool))
        if scores:
            scores = np.concatenate(scores)
            image = np.concatenate(image)
            matched = np.concatenate(matched, axis=1)
            ignored = np.concatenate(ignored, axis=1)
        else:
            scores = np.zeros(0)
            image = np.zeros(0, dtype=np.int64)
            matched = ignored = np.zeros((num_thrs, 0), dtype=bool)
        order = np.argsort(-scores, kind='mergesort')
        scores, image = scores[order], image[order]
        matched, ignored = matched[:, order], ignored[:, order]
        # Runs of equal score within one image: the copies of a drawn image
        # come side by side, so such a run repeats as a whole.
        new_run = np.ones(len(scores), dtype=bool)
        new_run[1:] = (scores[1:] != scores[:-1]) | (image[1:] != image[:-1])
        starts = np.flatnonzero(new_run)
        # (D, T): a draw gathers rows, and sums run down the rows for all
        # IoU thresholds at once.
        return dict(
            tp=np.ascontiguousarray((matched & ~ignored).T),
            fp=np.ascontiguousarray((~matched & ~ignored).T),
            num_gt=num_gt,
            run_start=starts,
            run_len=np.diff(np.append(starts, len(scores))),
            run_image=image[starts],
            single=len(starts) == len(scores))

    @staticmethod
    def _draw(cat: dict, counts: np.ndarray) -> np.ndarray:
        """Indices of the detections of a multiset of images, in the order
        pycocotools sorts them."""
        reps = counts[cat['run_image']]
        starts = np.repeat(cat['run_start'], reps)
        if cat['single']:
            return starts
        lens = np.repeat(cat['run_len'], reps)
        ends = np.cumsum(lens)
        offsets = np.arange(ends[-1] if len(ends) else 0) - np.repeat(
            ends - lens, lens)
        return np.repeat(starts, lens) + offsets

    def _precision(self, tp: np.ndarray, fp: np.ndarray,
                   num_gt: int) -> np.ndarray:
        """(T, R) interpolated precision of (D, T) true and false
        positives in score order, as ``COCOeval.accumulate`` computes it.

        pycocotools reads, at each recall threshold, the best precision
        from the first detection whose recall reaches it to the last.
        Recall grows only at a true positive and precision only falls
        between two, so that is the best precision just after the n-th
        true positive over ``n >= n_r``, the first ``n`` with
        ``n / num_gt >= r``: the same numbers, computed over the true
        positives only.
        """
        at_tp = np.flatnonzero(tp)  # np.nonzero is slower on 2-D
        n = np.cumsum(tp, axis=0, dtype=np.int32).ravel()[at_tp]
        fp_sum = np.cumsum(fp, axis=0, dtype=np.int32).ravel()[at_tp]
        # precision just after the n-th true positive at each threshold
        precision = np.zeros((len(self.iou_thrs), num_gt))
        precision[at_tp % len(self.iou_thrs),
                  n - 1] = n / (fp_sum + n + np.spacing(1))
        # the envelope: the best precision at this or a later point
        precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
        first = np.searchsorted(
            np.arange(1, num_gt + 1) / num_gt, self.rec_thrs, side='left')
        out = np.zeros((len(self.iou_thrs), len(self.rec_thrs)))
        reached = first < num_gt
        out[:, reached] = precision[:, first[reached]]
        return out

    def __call__(self,
                 counts: Optional[np.ndarray] = None) -> Tuple[float, float]:
        """AP and AP50 (fractions) on a multiset of the images.

        Args:
            counts (np.ndarray, optional): How many times each image is
                drawn, in the order of :attr:`img_ids` (sorted ids).
                Defaults to each image once: the full set.

        Returns:
            tuple[float, float]: AP (IoU .50:.95) and AP50; ``nan`` where
            no drawn image holds ground truth.
        """
        if counts is None:
            counts = np.ones(len(self.img_ids), dtype=np.int64)
        counts = np.asarray(counts, dtype=np.int64)
        precision = -np.ones(
            (len(self.iou_thrs), len(self.rec_thrs), len(self.categories)))
        for k, cat in enumerate(self.categories):
            num_gt = int(cat['num_gt'] @ counts)
            if num_gt == 0:
                continue
            order = self._draw(cat, counts)
            precision[:, :, k] = self._precision(
                np.take(cat['tp'], order, axis=0),
                np.take(cat['fp'], order, axis=0), num_gt)
        if not (precision > -1).any():
            return float('nan'), float('nan')
        at_50 = precision[np.flatnonzero(self.iou_thrs == 0.5)]
        return (float(np.mean(precision[precision > -1])),
                float(np.mean(at_50[at_50 > -1])))


def paired_bootstrap(ann_file: str,
                     preds_a: str,
                     preds_b: str,
                     num_resamples: int = 1000,
                     seed: int = 0,
                     level: float = 0.95) -> Dict[str, dict]:
    """Percentile bootstrap interval of the AP gap ``b - a`` of two
    detectors on the same test images, paired by image.

    Each resample draws as many images as the test split holds, with
    replacement, and evaluates both detectors on that same draw. A draw in
    which no image holds ground truth has no AP and is drawn again.

    Args:
        ann_file (str): COCO ground truth of the test split.
        preds_a (str): ``tools/test.py --out`` predictions of detector a.
        preds_b (str): Those of detector b, on the same images.
        num_resamples (int): Number of resamples. Defaults to 1000.
        seed (int): Seed of the draws. Defaults to 0.
        level (float): Coverage of the interval. Defaults to 0.95.

    Returns:
        dict: For ``'AP'`` (IoU .50:.95) and ``'AP50'``, in percent: ``a``
        and ``b`` on the full set, ``gap`` (b - a on the full set), ``low``
        and ``high`` (the ``(1 - level) / 2`` and ``(1 + level) / 2``
        percentiles of the gap over the resamples), ``resamples`` and
        ``level``.

    Raises:
        ValueError: A bad argument, or ground truth without any
            (non-crowd) object.
        PredictionFormatError: A predictions file that is not one of this
            test split (the error names the file).
    """
    if not (isinstance(num_resamples, int) and num_resamples >= 1):
        raise ValueError(
            f'num_resamples must be a positive int, got {num_resamples!r}')
    if not 0 < level < 1:
        raise ValueError(f'level must be in (0, 1), got {level!r}')
    coco = load_coco(ann_file)
    evals = [
        ResampledAP(coco, coco_results(coco, path, ann_file))
        for path in (preds_a, preds_b)
    ]
    full = [np.array(e()) for e in evals]
    if np.isnan(full[0]).any():
        raise ValueError(
            f'{ann_file}: no ground truth object that is not a crowd; '
            'there is no AP to compare')
    rng = np.random.default_rng(seed)
    num_images = len(evals[0].img_ids)
    gaps = np.zeros((num_resamples, len(METRICS)))
    for r in range(num_resamples):
        while True:
            counts = np.bincount(
                rng.integers(0, num_images, num_images),
                minlength=num_images)
            a, b = (np.array(e(counts)) for e in evals)
            if not np.isnan(a).any():
                break
        gaps[r] = b - a
    low, high = np.percentile(
        gaps, [50 * (1 - level), 50 * (1 + level)], axis=0) * 100
    return {
        name: dict(
            a=float(full[0][m] * 100),
            b=float(full[1][m] * 100),
            gap=float((full[1][m] - full[0][m]) * 100),
            low=float(low[m]),
            high=float(high[m]),
            resamples=num_resamples,
            level=level)
        for m, name in enumerate(METRICS)
    }


def format_interval(result: Dict[str, dict], metric: str = 'AP50') -> str:
    """One line for a report, e.g. ``+6.3 AP50 [95% CI +2.1, +10.4], 1000
    paired resamples``.

    Args:
        result (dict): What :func:`paired_bootstrap` returns.
        metric (str): ``'AP'`` or ``'AP50'``. Defaults to ``'AP50'``.
    """
    r = result[metric]
    return (f"{r['gap']:+.1f} {metric} [{r['level'] * 100:g}% CI "
            f"{r['low']:+.1f}, {r['high']:+.1f}], {r['resamples']} paired "
            'resamples')
