"""Curves from mmengine training logs (``WORK_DIR/*/vis_data/scalars.json``).

Examples:
    # SwAV loss with ln(K) and the queue start (report Fig. 1d/1e)
    python tools/analysis/plot_curves.py loss work_dirs/swav_r50 \\
        --out figures/swav_loss.png
    # validation AP50 over epochs of several fine-tuning runs (Fig. 1b/1c/1f)
    python tools/analysis/plot_curves.py metric work_dirs/g/finetune/* \\
        --key coco/bbox_mAP_50 --out figures/ap50.png

K is read from the run's config (num_prototypes) unless --num-prototypes is
given; the queue start from the ``SwAV queue started`` log line of
SwAVQueueHook, else from epoch_queue_starts in the config.
"""
import argparse
import os.path as osp
import sys

from ssdet.analysis.logs import (LogFormatError, config_value, load_log,
                                 swav_queue_start)
from ssdet.analysis.plots import (add_figure_options, figure_command,
                                  plot_metric_curves, plot_swav_loss)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Plot training curves')
    sub = parser.add_subparsers(dest='plot', required=True)
    loss = sub.add_parser('loss', help='SwAV loss with ln(K), queue start')
    loss.add_argument('work_dir', help='work dir of a SwAV run')
    loss.add_argument('--key', default='loss', help='loss key (loss)')
    loss.add_argument('--num-prototypes', type=int, help='K (default: '
                      'num_prototypes of the dumped config)')
    loss.add_argument('--queue-start', type=float, help='iteration of the '
                      'queue start (default: from the log)')
    metric = sub.add_parser('metric', help='validation metric over epochs')
    metric.add_argument('work_dirs', nargs='+', help='training work dirs')
    metric.add_argument(
        '--key', default='coco/bbox_mAP_50', help='metric key '
        '(coco/* are shown in percent)')
    metric.add_argument('--names', nargs='+', help='legend names')
    for p in (loss, metric):
        add_figure_options(p)
        p.add_argument('--skip-bad-lines', action='store_true',
                       help='skip (and count) scalars.json lines that are '
                       'not JSON instead of stopping')
    return parser.parse_args(argv)


def plot_loss(args) -> None:
    """``loss``: the SwAV loss of one run with ln(K) and the queue start."""
    log = load_log(args.work_dir, args.skip_bad_lines)
    points = log.series(args.key, x='iter')
    if not points[0]:
        raise ValueError(f'no {args.key!r} in the train records of '
                         f'{args.work_dir}')
    k = args.num_prototypes or config_value(args.work_dir, 'num_prototypes')
    start = args.queue_start
    if start is None:
        found = swav_queue_start(args.work_dir)
        if found and found[0] == 'iter':
            start = found[1]
        elif found:
            start = log.epoch_start_iter(found[1])
    plot_swav_loss(points, args.out, int(k) if k else None, start,
                   args.title or f'SwAV loss ({args.work_dir})')
    print(f'K = {int(k) if k else None}, queue start = {start}')


def plot_metric(args) -> None:
    """``metric``: a validation metric over epochs, one line per run."""
    names = args.names or [
        osp.basename(osp.normpath(w)) for w in args.work_dirs
    ]
    if len(names) != len(args.work_dirs):
        raise ValueError('--names needs one name per work dir')
    scale = 100.0 if args.key.startswith('coco/') else 1.0
    curves = {}
    for name, work_dir in zip(names, args.work_dirs):
        log = load_log(work_dir, args.skip_bad_lines)
        xs, ys = log.series(args.key, val=True)
        if not xs:
            print(f'warning: no {args.key} in the validation records of '
                  f'{work_dir}', file=sys.stderr)
        curves[name] = (xs, [y * scale for y in ys])
    if not any(xs for xs, _ in curves.values()):
        raise ValueError(f'no run has {args.key!r}')
    plot_metric_curves(curves, args.out, args.key, 'epoch', args.title)


def main(argv=None) -> int:
    args = parse_args(argv)
    plot = plot_loss if args.plot == 'loss' else plot_metric
    return figure_command(args, lambda: plot(args),
                          (OSError, ValueError, LogFormatError))


if __name__ == '__main__':
    sys.exit(main())
