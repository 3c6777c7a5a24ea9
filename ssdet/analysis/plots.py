"""PNG figures of the reports. matplotlib is imported inside each function
(with the Agg backend), so importing this module costs nothing.

- :func:`plot_swav_loss`: SwAV loss over iterations with the ``ln(K)`` line
  (uniform assignments) and the queue start (report Fig. 1d/1e);
- :func:`plot_metric_curves`: a validation metric over epochs for several
  runs (Fig. 1b/1c/1f);
- :func:`plot_metric_vs_axis`: a test metric against a numeric axis, e.g.
  retraining epochs or frozen stages (domain adaptation Fig. 1a/1b);
- :func:`plot_class_bars`: per-class AP bars of several runs.

:func:`add_figure_options` and :func:`figure_command` are what the plotting
tools (``tools/analysis/plot_*.py``) share: ``--out``, ``--title``,
``--force``, and the refusal, error and exit code around drawing.
"""
import argparse
import math
import sys
from typing import (Callable, Dict, List, Mapping, Optional, Sequence, Tuple,
                    Type)

from ..io import atomic_savefig, refuse_overwrite

Points = Tuple[Sequence[float], Sequence[float]]


def _pyplot():
    import matplotlib
    matplotlib.use('Agg', force=True)
    import matplotlib.pyplot as plt
    return plt


def _save(fig, out: str) -> str:
    return atomic_savefig(fig, out, dpi=120, bbox_inches='tight')


def plot_swav_loss(points: Points,
                   out: str,
                   num_prototypes: Optional[int] = None,
                   queue_start: Optional[float] = None,
                   title: str = 'SwAV loss') -> str:
    """SwAV training loss with ``ln(K)`` and the queue start.

    Args:
        points (tuple): ``(iterations, losses)``.
        out (str): PNG path.
        num_prototypes (int, optional): ``K``; draws ``y = ln(K)``, the loss
            of uniform assignments (a collapse sits on it).
        queue_start (float, optional): Iteration of the queue start.
        title (str): Figure title.

    Returns:
        str: ``out``.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    try:
        ax.plot(points[0], points[1], lw=1, label='loss')
        if num_prototypes:
            ln_k = math.log(num_prototypes)
            ax.axhline(
                ln_k,
                color='tab:red',
                ls='--',
                lw=1,
                label=f'ln(K) = {ln_k:.3f} (K = {num_prototypes})')
        if queue_start is not None:
            ax.axvline(
                queue_start,
                color='tab:green',
                ls=':',
                lw=1.5,
                label=f'queue starts (iter {queue_start:.0f})')
        ax.set_xlabel('iteration')
        ax.set_ylabel('loss')
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
        return _save(fig, out)
    finally:
        plt.close(fig)


def plot_metric_curves(curves: Mapping[str, Points],
                       out: str,
                       ylabel: str = 'AP50',
                       xlabel: str = 'epoch',
                       title: str = '') -> str:
    """One line per run: ``curves[name] = (xs, ys)``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    try:
        for name, (xs, ys) in curves.items():
            ax.plot(xs, ys, marker='o', ms=3, label=name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.grid(alpha=0.3)
        if len(curves) > 1 or any(curves):
            ax.legend(fontsize='small')
        return _save(fig, out)
    finally:
        plt.close(fig)


def plot_metric_vs_axis(series: Mapping[str, Points],
                        out: str,
                        xlabel: str,
                        ylabel: str = 'mAP',
                        title: str = '') -> str:
    """A metric against a numeric axis, one line per series; the x ticks
    are the axis values."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    try:
        ticks: List[float] = []
        for name, (xs, ys) in series.items():
            order = sorted(range(len(xs)), key=lambda i: xs[i])
            ax.plot([xs[i] for i in order], [ys[i] for i in order],
                    marker='o',
                    label=name)
            ticks += list(xs)
        ax.set_xticks(sorted(set(ticks)))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.grid(alpha=0.3)
        if len(series) > 1:
            ax.legend(fontsize='small')
        return _save(fig, out)
    finally:
        plt.close(fig)


def plot_class_bars(values: Mapping[str, Mapping[str, Optional[float]]],
                    classes: Sequence[str],
                    out: str,
                    ylabel: str = 'AP50',
                    title: str = '') -> str:
    """Grouped bars: per class, one bar per run (``values[run][cls]``);
    absent values are left out (no bar)."""
    plt = _pyplot()
    width = 0.8 / max(len(values), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(classes)), 4))
    try:
        for j, (name, per_class) in enumerate(values.items()):
            xs = [i + (j - (len(values) - 1) / 2) * width
                  for i, c in enumerate(classes)
                  if per_class.get(c) is not None]
            ys = [
                per_class[c] for c in classes if per_class.get(c) is not None
            ]
            ax.bar(xs, ys, width=width, label=name)
        ax.set_xticks(range(len(classes)))
        ax.set_xticklabels(classes, rotation=30, ha='right')
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.grid(axis='y', alpha=0.3)
        ax.legend(fontsize='small', loc='upper left',
                  bbox_to_anchor=(1.01, 1.0))
        return _save(fig, out)
    finally:
        plt.close(fig)


def per_class_values(metrics: Mapping[str, float], classes: Sequence[str],
                     template: str = 'kitti/AP50_{}'
                     ) -> Dict[str, Optional[float]]:
    """``{cls: metrics[template.format(cls)]}`` (None where absent/NaN)."""
    out: Dict[str, Optional[float]] = {}
    for cls in classes:
        try:
            value = float(metrics[template.format(cls)])
        except (KeyError, TypeError, ValueError):
            value = None
        out[cls] = None if value is None or math.isnan(value) else value
    return out


def add_figure_options(parser: argparse.ArgumentParser) -> None:
    """``--out``, ``--title`` and ``--force`` of a command that draws one
    figure."""
    parser.add_argument('--out', required=True, help='PNG file to write')
    parser.add_argument('--title', default='', help='figure title')
    parser.add_argument(
        '--force', action='store_true', help='overwrite an existing PNG')


def figure_command(args: argparse.Namespace, draw: Callable[[], object],
                   errors: Tuple[Type[Exception], ...]) -> int:
    """Draw ``args.out`` and say so: the body of a plotting tool's ``main``.

    An existing ``--out`` is refused without ``--force`` before anything is
    read; an exception of ``errors`` (bad input) is printed as ``error:
    ...``.

    Args:
        args (argparse.Namespace): Has ``out`` and ``force``.
        draw (callable): Reads the input and writes ``args.out``.
        errors (tuple[type]): The exceptions that mean bad input.

    Returns:
        int: The exit code: 0, or 2 on bad input.
    """
    try:
        refuse_overwrite([args.out], args.force)
        draw()
    except (FileExistsError, *errors) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    print(f'written: {args.out}')
    return 0
