"""The CPU demo: does self-supervised pretraining help the detector?

Runs, on the embedded synthetic data set, the whole pipeline of the reports
with the project's own tools (each a subprocess, exactly as a user would run
it):

1. generate ``data/synthetic`` (once; never overwritten),
2. SwAV pretraining of a ResNet-18 (half width) on the unlabeled pool,
3. Faster R-CNN fine-tuning from that backbone and from random
   initialisation with the same budget,
4. test of both final checkpoints (none picked on val) on the held-out
   test split (the data and the schedules were tuned on val),
5. a table of AP, AP50 and AP small/medium/large for both and their
   difference, written to ``WORK_DIR/results.md``, and the plots under
   ``WORK_DIR/plots/``: the SwAV loss with its ``ln(K)`` line, validation
   AP50 over the fine-tuning epochs of both runs, and per-class AP.

Finished stages are detected and skipped, so an interrupted demo continues
where it stopped; ``--force`` reruns every stage.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

from ssdet.analysis.logs import config_value, load_log
from ssdet.analysis.plots import (per_class_values, plot_class_bars,
                                  plot_metric_curves, plot_swav_loss)
from ssdet.data import synthetic
from ssdet.io import atomic_write_text
from ssdet.tables import coco_row, markdown_table, read_metrics

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# A ResNet-18 of half width throughout, so that the demo fits ~20 minutes
# on 2 CPU cores (the configs say what it costs and buys).
SWAV_CONFIG = ('configs/demo/swav_resnet18-w32_1xb32-mcrop-2-4-coslr-36e_'
               'synthetic-48-24_32p.py')
SCRATCH_CONFIG = 'configs/demo/faster-rcnn_r18-w32_fpn_synthetic.py'
PRETRAINED_CONFIG = ('configs/demo/'
                     'faster-rcnn_r18-w32_fpn_synthetic_swav.py')
# Images per split of the demo's data: the generator's defaults, so that the
# `make_synthetic.py --force` the demo suggests for stale data writes them.
DATA_SIZES = dict(synthetic.DEFAULT_SPLIT_SIZES)
COLUMNS = ('AP', 'AP50', 'APs', 'APm', 'APl')
# Log lines shown on the console; the full logs are in each stage's work dir.
# Of the evaluation loops only the metrics lines (not the progress ones).
SHOWN = ('Epoch(train)', 'bbox_mAP_copypaste', 'SwAV queue',
         'VerifiedPretrained', 'error:', 'Error:', 'wrote ')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data', default='data/synthetic', help='synthetic data root')
    parser.add_argument(
        '--work-dir', default='work_dirs/demo', help='outputs of all stages')
    parser.add_argument(
        '--seed', type=int, default=0, help='data and training seed')
    parser.add_argument(
        '--force', action='store_true', help='rerun finished stages')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='extra --cfg-options for every training run (e.g. to shorten '
        'the schedules: train_cfg.max_epochs=1)')
    return parser.parse_args()


def run(cmd, log_path):
    """Run one stage, its output teed to a log; stop the demo if it fails."""
    print('$ ' + ' '.join(cmd), flush=True)
    os.makedirs(osp.dirname(log_path), exist_ok=True)
    start = time.time()
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ, PYTHONUNBUFFERED='1'))
        for line in proc.stdout:
            log.write(line)
            if any(key in line for key in SHOWN):
                sys.stdout.write('  ' + line)
        proc.wait()
    if proc.returncode:
        sys.exit(f'demo: stage failed (exit {proc.returncode}); see '
                 f'{log_path}')
    print(f'  done in {time.time() - start:.0f} s', flush=True)


def last_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def stale_data(data):
    """Why the synthetic set at ``data`` is not the one this demo was tuned
    on (made by an older version or with other split sizes), or None."""
    if not osp.isfile(osp.join(data, 'annotations', 'test.json')):
        return (f'{data} has no annotations/test.json (made by an older '
                'version, without the held-out test split)')
    try:
        with open(osp.join(data, 'summary.json')) as f:
            summary = json.load(f)
    except (OSError, ValueError) as e:
        return f'{data}/summary.json is missing or unreadable ({e})'
    made_with, now = summary.get('knobs'), synthetic.knobs()
    if made_with != now:
        changed = sorted(k for k in now
                         if (made_with or {}).get(k) != now[k])
        return (f'{data} was generated with other settings than the '
                f'current generator ({", ".join(changed)} differ)')
    sizes = {
        split: summary.get('splits', {}).get(split, {}).get('images')
        for split in DATA_SIZES
    }
    if sizes != DATA_SIZES:
        return (f'{data} has other split sizes ({sizes}) than the demo '
                f'uses ({DATA_SIZES})')
    return None


def data_options(data, split='val'):
    """--cfg-options pointing a detection config at ``data``; the test loop
    reads ``split`` (val while training, the held-out test split at the
    end)."""
    root = data.rstrip('/') + '/'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.ann_file=annotations/{split}.json',
        f'val_evaluator.ann_file={root}annotations/val.json',
        f'test_evaluator.ann_file={root}annotations/{split}.json',
    ]


def train(config, work_dir, options, force):
    """Train unless a previous demo finished this stage (``.done``); an
    interrupted stage resumes from its last checkpoint."""
    done = osp.join(work_dir, '.done')
    if force or not osp.isfile(done):
        cmd = [sys.executable, 'tools/train.py', config, '--work-dir',
               work_dir]
        if force:
            for path in (done, osp.join(work_dir, 'last_checkpoint')):
                if osp.isfile(path):
                    os.remove(path)
        elif osp.isfile(osp.join(work_dir, 'last_checkpoint')):
            cmd.append('--resume')
        if options:
            cmd += ['--cfg-options'] + options
        run(cmd, osp.join(work_dir, 'train.log'))
        atomic_write_text(done, last_checkpoint(work_dir) + '\n')
    return last_checkpoint(work_dir)


def test(config, checkpoint, work_dir, options, force):
    metrics_file = osp.join(work_dir, 'test_metrics.json')
    if (force or not osp.isfile(metrics_file)
            or osp.getmtime(metrics_file) < osp.getmtime(checkpoint)):
        cmd = [
            sys.executable, 'tools/test.py', config, checkpoint,
            '--work-dir', work_dir, '--metrics-out', metrics_file
        ]
        if options:
            cmd += ['--cfg-options'] + options
        run(cmd, osp.join(work_dir, 'test.log'))
    return read_metrics(metrics_file)


def main():
    args = parse_args()
    os.chdir(ROOT)
    wd = args.work_dir
    seed = [f'randomness.seed={args.seed}']

    print('== 1/4 data', flush=True)
    if not osp.isdir(args.data):
        run([
            sys.executable, 'tools/dataset_converters/make_synthetic.py',
            '--out', args.data, '--seed',
            str(args.seed)
        ] + [f'--num-{split}={n}' for split, n in DATA_SIZES.items()],
            osp.join(wd, 'make_synthetic.log'))
    else:
        problem = stale_data(args.data)
        if problem:
            sys.exit(f'demo: {problem}; regenerate it: python '
                     'tools/dataset_converters/make_synthetic.py --out '
                     f'{args.data} --seed {args.seed} --force')
        print(f'  using existing {args.data}')

    print('== 2/4 SwAV pretraining on the unlabeled pool', flush=True)
    swav_ckpt = train(
        SWAV_CONFIG, osp.join(wd, 'pretrain_swav'),
        [f'train_dataloader.dataset.data_root={args.data}/unlabeled/'] +
        seed + args.cfg_options, args.force)

    print('== 3/4 Faster R-CNN: from scratch and from SwAV', flush=True)
    det_options = data_options(args.data) + seed + args.cfg_options
    # backbone name -> (work dir, config, options)
    runs = {
        'random init': ('det_random', SCRATCH_CONFIG, det_options),
        'SwAV': ('det_swav', PRETRAINED_CONFIG, det_options +
                 [f'model.backbone.init_cfg.checkpoint={swav_ckpt}']),
    }
    checkpoints = {}
    for name, (run_dir, config, options) in runs.items():
        checkpoints[name] = train(config, osp.join(wd, run_dir), options,
                                  args.force)

    print('== 4/4 test', flush=True)
    rows, metrics = [], {}
    for name, (run_dir, config, _) in runs.items():
        metrics[name] = test(config, checkpoints[name],
                             osp.join(wd, run_dir),
                             data_options(args.data, 'test'), args.force)
        rows.append(dict(backbone=name, **coco_row(metrics[name])))
    diff = dict(backbone='difference')
    for col in COLUMNS:
        a, b = rows[1].get(col), rows[0].get(col)
        diff[col] = None if a is None or b is None else a - b
    rows.append(diff)

    plots = make_plots(wd, runs, metrics)
    table = markdown_table(rows, ('backbone', ) + COLUMNS)
    figures = '\n'.join(
        f'![{title}](plots/{osp.basename(path)})' for title, path in plots)
    report = (
        f'# Demo: Faster R-CNN R18-FPN (half-width ResNet-18), {args.data}, '
        f'seed {args.seed}\n\n'
        'Test split (held out: the data and schedules were tuned on val). '
        'Same fine-tuning budget for both; final checkpoints, none picked '
        f'on val.\n\n{table}\n\n{figures}\n')
    atomic_write_text(osp.join(wd, 'results.md'), report)
    print('\n' + table)
    print(f'\nwritten to {osp.join(wd, "results.md")}; plots:')
    for _, path in plots:
        print(f'  {path}')


def make_plots(wd, runs, metrics):
    """The demo's figures under ``WD/plots``: [(title, path)]."""
    out = osp.join(wd, 'plots')
    plots = []
    swav_dir = osp.join(wd, 'pretrain_swav')
    loss = load_log(swav_dir).series('loss', x='iter')
    if loss[0]:
        k = config_value(swav_dir, 'num_prototypes')
        plots.append(('SwAV loss', plot_swav_loss(
            loss, osp.join(out, 'swav_loss.png'), int(k) if k else None,
            title='SwAV pretraining loss (unlabeled pool)')))
    curves = {}
    for name, (run_dir, _, _) in runs.items():
        xs, ys = load_log(osp.join(wd, run_dir)).series(
            'coco/bbox_mAP_50', val=True)
        curves[name] = (xs, [100 * y for y in ys])
    plots.append(('val AP50', plot_metric_curves(
        curves, osp.join(out, 'val_ap50.png'), ylabel='AP50 (val)',
        title='Faster R-CNN fine-tuning: AP50 over epochs')))
    per_class = {}
    for name, m in metrics.items():
        values = per_class_values(m, synthetic.CLASSES, 'coco/{}_precision')
        per_class[name] = {
            c: None if v is None else 100 * v
            for c, v in values.items()
        }
    plots.append(('per-class AP', plot_class_bars(
        per_class, synthetic.CLASSES, osp.join(out, 'per_class_ap.png'),
        ylabel='AP',
        title='Per-class AP (test of the final checkpoints)')))
    return plots


if __name__ == '__main__':
    main()
