"""The KITTI demo: the real path on real KITTI frames, on the CPU.

1. converts the labelled frames of ``--data`` (``training/image_2``,
   ``training/label_2``) to COCO JSON with
   ``tools/dataset_converters/kitti2coco.py`` (seeded 80/20 split),
2. trains the tiny KITTI recipe config
   (``configs/kitti/faster-rcnn_r18_fpn_1e_kitti-tiny.py``: ResNet-18, the
   recipe's pipeline at 1242 x 375) with ``tools/train.py`` for
   ``--epochs``, from ``--checkpoint`` or, without one, from scratch with
   trainable BN (as ``faster-rcnn_r50_fpn_scratch_20e_kitti.py``),
3. tests the last checkpoint on the val split with ``tools/test.py``:
   both KITTI tables and mmdet's COCO AP,
4. draws detections on real val frames (:mod:`ssdet.analysis.draw`),

and writes ``WORK_DIR/results.md`` (tables, COCO AP, the picture
``detections.png``, the commands, the time of each stage). It shows the
real path working, not a good detector. Each tool's full output is in
``WORK_DIR/<stage>.log``. Paths are relative to the repository root.

Example::

    python tools/demo_kitti.py --data ../shared/fixtures/kitti_75 \\
        --work-dir work_dirs/demo_kitti
"""
import argparse
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/kitti/faster-rcnn_r18_fpn_1e_kitti-tiny.py'
#: Where the repository's tests find the 75 real KITTI frames.
FIXTURE = '../shared/fixtures/kitti_75'
#: Log lines shown on the console (the full output is in the stage's log).
SHOWN = ('Epoch(train)', 'Epoch(test)', 'error:', 'Error:', '| images',
         '| Car ', 'dropped boxes', 'skipped ')
#: The scratch baseline's backbone: no weights, trainable BN.
SCRATCH = ('model.backbone.init_cfg=None',
           'model.backbone.norm_cfg.requires_grad=True',
           'model.backbone.norm_eval=False')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data',
        default=FIXTURE,
        help='KITTI root holding training/image_2 and training/label_2 '
        '(default: %(default)s, the 75 frames of the tests)')
    parser.add_argument(
        '--work-dir', default='work_dirs/demo_kitti', help='all outputs')
    parser.add_argument(
        '--epochs',
        type=int,
        default=1,
        help='training epochs, 2 images a batch (default: %(default)s)')
    parser.add_argument(
        '--checkpoint',
        help='ResNet-18 backbone weights converted for mmdet '
        '(tools/model_converters/convert.py); default: train from scratch')
    parser.add_argument(
        '--num-images',
        type=int,
        default=4,
        help='val frames in the picture (default: %(default)s)')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='detections drawn score at least this (default: %(default)s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='extra --cfg-options for the training and the test')
    parser.add_argument(
        '--force',
        action='store_true',
        help='run again into a work dir that holds a previous run '
        '(its files are replaced)')
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.num_images < 1:
        parser.error('--epochs and --num-images must be >= 1')
    return args


def check_inputs(args) -> None:
    """Refuse a missing data folder or checkpoint, and a previous run."""
    for sub in ('image_2', 'label_2'):
        folder = osp.join(args.data, 'training', sub)
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'{folder} not found: --data is a KITTI root holding '
                'training/image_2 and training/label_2 (the 75 real frames '
                f'of the tests are at {FIXTURE}, beside the repository)')
    if args.checkpoint and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'--checkpoint {args.checkpoint} not found')
    if osp.exists(osp.join(args.work_dir, 'annotations')) and not args.force:
        raise FileExistsError(
            f'{args.work_dir} holds a previous run; pass --force to run '
            'again (its files are replaced) or give another --work-dir')


def main(argv=None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    try:
        check_inputs(args)
    except (FileNotFoundError, FileExistsError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    from ssdet.analysis.detections import (PredictionFormatError,
                                           load_predictions)
    from ssdet.analysis.kitti_demo import kitti_tables, write_report
    from ssdet.data.kitti import cfg_options
    from ssdet.sweep.engine import subprocess_executor
    from ssdet.tables import read_metrics

    work = args.work_dir
    ann_dir = osp.join(work, 'annotations')
    train_dir = osp.join(work, 'train')
    predictions = osp.join(work, 'predictions.pkl')
    metrics_file = osp.join(work, 'metrics.json')
    data = args.data.rstrip('/')
    options = cfg_options(data, ann_dir) + ['randomness.seed=0']
    backbone = (f'model.backbone.init_cfg.checkpoint={args.checkpoint}', )
    steps = [
        ('convert', [
            'tools/dataset_converters/kitti2coco.py', data, '--out', ann_dir
        ] + (['--force'] if args.force else [])),
        ('train', [
            'tools/train.py', CONFIG, '--work-dir', train_dir,
            '--cfg-options', *options, f'train_cfg.max_epochs={args.epochs}',
            f'train_cfg.val_begin={args.epochs + 1}',
            *(backbone if args.checkpoint else SCRATCH), *args.cfg_options
        ]),
        ('test', [
            'tools/test.py', CONFIG,
            osp.join(train_dir, f'epoch_{args.epochs}.pth'), '--work-dir',
            osp.join(work, 'test'), '--out', predictions, '--metrics-out',
            metrics_file, '--cfg-options', *options, *args.cfg_options
        ]),
    ]
    stages = []
    for name, cmd in steps:
        print(f'== {name}: {" ".join(cmd)}', flush=True)
        log = osp.join(work, f'{name}.log')
        if osp.exists(log):
            os.remove(log)
        start = time.monotonic()
        code = subprocess_executor([sys.executable] + cmd, {}, log,
                                   lambda line: any(k in line for k in SHOWN))
        stages.append((name, time.monotonic() - start))
        if code:
            print(f'error: {name} failed (exit code {code}); its output is '
                  f'in {log}', file=sys.stderr)
            return code

    start = time.monotonic()
    try:
        with open(osp.join(work, 'test.log')) as f:
            tables = kitti_tables(f.read())
        picture = draw(args, ann_dir, load_predictions(predictions),
                       osp.join(work, 'detections.png'))
    except (ValueError, PredictionFormatError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    stages.append(('picture', time.monotonic() - start))
    write_report(
        osp.join(work, 'results.md'),
        tables,
        read_metrics(metrics_file), [['python'] + cmd for _, cmd in steps],
        stages,
        backbone=(f'{args.checkpoint}' if args.checkpoint else
                  'random initialisation, trainable BN (from scratch)'),
        picture=picture,
        score_thr=args.score_thr)
    print('\n' + tables)
    print(f'\nwritten to {osp.join(work, "results.md")} and {picture}')
    return 0


def draw(args, ann_dir: str, predictions: dict, out: str) -> str:
    """The detections on ``--num-images`` val frames, beside their ground
    truth."""
    from custom_modules.compat import install
    install()  # mmcv._ext before mmdet's imports reach mmcv.ops
    from mmdet.datasets import CocoDataset

    from ssdet.analysis.detections import ground_truth_from_dataset
    from ssdet.analysis.draw import draw_detections
    from ssdet.data.kitti import KITTI_CLASSES
    dataset = CocoDataset(
        data_root=args.data,
        ann_file=osp.join(osp.abspath(ann_dir), 'val.json'),
        data_prefix=dict(img='training/image_2/'),
        metainfo=dict(classes=KITTI_CLASSES),
        test_mode=True,
        pipeline=[])
    return draw_detections(
        predictions,
        KITTI_CLASSES,
        out,
        ground_truth=ground_truth_from_dataset(dataset),
        num_images=args.num_images,
        score_thr=args.score_thr)


if __name__ == '__main__':
    sys.exit(main())
