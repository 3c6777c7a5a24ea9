"""Figures from a grid's test metrics (``<grid work dir>/<stage>/*/``).

Examples:
    # AP vs retraining epochs (domain adaptation Fig. 1a)
    python tools/analysis/plot_results.py axis work_dirs/da_fig1a_epochs \\
        --x epoch --key kitti/mAP --series pretrain --out figures/fig1a.png
    # AP vs frozen stages (Fig. 1b)
    python tools/analysis/plot_results.py axis work_dirs/da_fig1b_frozen \\
        --x frozen --key kitti/mAP --out figures/fig1b.png
    # per-class AP50 bars (one bar per run)
    python tools/analysis/plot_results.py classes work_dirs/da_table2 \\
        --out figures/per_class.png
"""
import argparse
import sys

from ssdet.analysis.plots import (add_figure_options, figure_command,
                                  per_class_values, plot_class_bars,
                                  plot_metric_vs_axis)
from ssdet.analysis.tables import KITTI_CLASSES, AggregateError, find_metrics


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Plot a grid\'s metrics')
    sub = parser.add_subparsers(dest='plot', required=True)
    axis = sub.add_parser('axis', help='a metric against a numeric axis')
    axis.add_argument('--x', required=True, help='numeric axis (x)')
    axis.add_argument('--key', default='kitti/mAP', help='metric key')
    axis.add_argument(
        '--series',
        help='axis that separates the lines (default: the '
        'labels of all other axes)')
    bars = sub.add_parser('classes', help='per-class AP bars')
    bars.add_argument('--classes', nargs='+', default=list(KITTI_CLASSES))
    bars.add_argument(
        '--template',
        default='kitti/AP50_{}',
        help='metric key of a class (kitti/AP50_{})')
    for p in (axis, bars):
        p.add_argument('work_dir', help='the grid\'s work dir')
        p.add_argument(
            '--stage',
            nargs='+',
            help='test stage(s) (default: '
            'every stage with metrics)')
        add_figure_options(p)
    return parser.parse_args(argv)


def _number(run, axis):
    value = run.values.get(axis, run.axes.get(axis))
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AggregateError(f'{run.path}: axis {axis}={value!r} is not a '
                             'number') from None


def plot_axis(args, runs) -> None:
    """``axis``: a metric against a numeric axis, one line per series."""
    if not any(args.x in r.axes for r in runs):
        raise AggregateError(f'no run varies the axis {args.x!r}')
    scale = 100.0 if args.key.startswith('coco/') else 1.0
    series = {}
    for run in runs:
        if args.key not in run.metrics or args.x not in run.axes:
            continue
        if args.series:
            name = f'{args.series}-{run.axes.get(args.series, "")}'
        else:
            name = '_'.join([run.stage] + [
                f'{a}-{v}' for a, v in run.axes.items() if a != args.x
            ])
        xs, ys = series.setdefault(name, ([], []))
        xs.append(_number(run, args.x))
        ys.append(float(run.metrics[args.key]) * scale)
    if not series:
        raise AggregateError(f'no run has the metric {args.key!r}')
    plot_metric_vs_axis(series, args.out, args.x, args.key, args.title)


def plot_classes(args, runs) -> None:
    """``classes``: per-class AP bars, one bar per run."""
    several = len({run.stage for run in runs}) > 1
    values = {
        (f'{run.stage}/{run.name}' if several else run.name):
        per_class_values(run.metrics, args.classes, args.template)
        for run in runs
    }
    if not any(v is not None for per in values.values()
               for v in per.values()):
        raise AggregateError(
            f'no run has any of {args.template.format("<class>")} for '
            f'{", ".join(args.classes)}')
    plot_class_bars(values, args.classes, args.out,
                    args.template.format('').strip('_/'), args.title)


def main(argv=None) -> int:
    args = parse_args(argv)
    plot = plot_axis if args.plot == 'axis' else plot_classes
    return figure_command(
        args, lambda: plot(args, find_metrics(args.work_dir, args.stage)),
        (AggregateError, ))


if __name__ == '__main__':
    sys.exit(main())
