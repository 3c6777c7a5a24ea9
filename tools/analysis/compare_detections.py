"""Side-by-side detections of two models on the images where they differ
most (by true positives at IoU 0.5, then false positives).

Example:
    python tools/analysis/compare_detections.py \\
        configs/faster_rcnn/faster-rcnn_r50_fpn_1x_nyu.py \\
        work_dirs/g/test/scratch/predictions.pkl \\
        work_dirs/g/test/swav/predictions.pkl \\
        --out work_dirs/g/compare --names scratch SwAV --top 8

The predictions are ``tools/test.py --out x.pkl`` dumps of the test set of
CONFIG (a sweep's test stage with ``dump: true`` writes
``predictions.pkl``). Writes ``OUT/01_<image>.png`` ... and
``OUT/ranking.csv`` (every image).
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction

from ssdet.analysis.detections import (PredictionFormatError, draw_pair,
                                       ground_truth_from_dataset,
                                       load_predictions, rank_images,
                                       summary_csv)
from ssdet.io import atomic_write_text


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Compare the detections of two models image by image',
        epilog='The .pkl files are read with a restricted unpickler that '
        'admits only what a tools/test.py --out file holds (tensors, arrays, '
        'lists, dicts, numbers, strings); nothing in them runs. See '
        'docs/security.md.')
    parser.add_argument('config', help='config whose test set was used')
    parser.add_argument('pred_a', help='predictions of model A (.pkl)')
    parser.add_argument('pred_b', help='predictions of model B (.pkl)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--top', type=int, default=8,
                        help='images to draw (default: 8)')
    parser.add_argument('--names', nargs=2, default=['A', 'B'],
                        help='names of the two models')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detections below are not drawn or counted')
    parser.add_argument('--iou-thr', type=float, default=0.5,
                        help='IoU of a true positive (default: 0.5)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. '
        'test_dataloader.dataset.data_root=data/nyu/')
    parser.add_argument('--force', action='store_true',
                        help='write into an existing, non-empty --out')
    return parser.parse_args(argv)


def build_test_set(config: str, options):
    """The full-initialised test dataset of ``config``."""
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    from ssdet.config import load_config, merge_cfg_options
    register_all_modules()
    cfg = merge_cfg_options(load_config(config), options)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    dataset.full_init()
    return dataset


def main(argv=None) -> int:
    args = parse_args(argv)
    import custom_modules  # noqa: F401  (installs compat before mmdet)
    if osp.isdir(args.out) and os.listdir(args.out) and not args.force:
        print(f'error: {args.out} is not empty; pass --force to write into '
              'it', file=sys.stderr)
        return 2
    try:
        preds = [load_predictions(args.pred_a), load_predictions(args.pred_b)]
        dataset = build_test_set(args.config, args.cfg_options)
        gt = ground_truth_from_dataset(dataset)
        diffs = rank_images(gt, preds, args.score_thr, args.iou_thr)
    except (OSError, PredictionFormatError, KeyError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    classes = list(dataset.metainfo.get('classes', ()))
    os.makedirs(args.out, exist_ok=True)
    files = []
    for rank, diff in enumerate(diffs[:args.top], 1):
        stem = osp.splitext(osp.basename(diff.img_path))[0]
        out = osp.join(args.out, f'{rank:02d}_{stem}.png')
        draw_pair(diff, gt[diff.key], [p[diff.key] for p in preds],
                  args.names, classes, out, args.score_thr, args.iou_thr)
        files.append(out)
        print(f'{rank:2d}. {diff.img_path}: TP {diff.tp[0]} vs {diff.tp[1]}, '
              f'FP {diff.fp[0]} vs {diff.fp[1]} ({diff.num_gt} GT) -> {out}')
    atomic_write_text(osp.join(args.out, 'ranking.csv'),
                      summary_csv(diffs, args.names, files))
    print(f'{len(diffs)} images compared; ranking in '
          f'{osp.join(args.out, "ranking.csv")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
