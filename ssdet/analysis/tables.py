"""Tables of a finished grid, in the layouts of the reports.

The metrics are the ``metrics.json`` files that the test stage of a grid
writes (``tools/test.py --metrics-out``) in
``<grid work dir>/<stage>/<run>/``; the axis values of each run come from its
``.done`` record, or, without one, from the run's directory name
(``<axis>-<label>`` joined by ``_``).

Layouts (:data:`LAYOUTS`):

- ``semi-table1``: semi-supervised Table 1, COCO AP50 and AP small / medium
  / large per backbone (in percent);
- ``da-table1``: domain adaptation Table 1, KITTI mAP per pretraining;
- ``da-table2``: Table 2, KITTI AP50 per class (Car Van Truck Pedestrian
  Person_sitting Cyclist Tram) and mAP;
- ``da-table3``: Table 3, KITTI mAP per retraining (pretraining set) size;
- ``coco``: COCO AP, AP50, AP75, APs, APm, APl (any COCO-evaluated grid).
"""
import csv
import io
import json
import math
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

# The sweep's work-dir layout: metrics file, marker, runs moved aside.
from ..sweep.commands import DONE_MARKER, METRICS_FILE, STALE_SUFFIX
from ..tables import markdown_table, read_metrics

KITTI_CLASSES = ('Car', 'Van', 'Truck', 'Pedestrian', 'Person_sitting',
                 'Cyclist', 'Tram')


class AggregateError(ValueError):
    """The grid's work dir has no usable metrics for the layout."""


@dataclass(frozen=True)
class Column:
    """A metric column: header, metric key, factor to percent."""
    header: str
    key: str
    scale: float = 1.0


@dataclass(frozen=True)
class Layout:
    title: str
    columns: Tuple[Column, ...]
    note: str = ''


def _coco(header: str, key: str) -> Column:
    return Column(header, f'coco/{key}', 100.0)


LAYOUTS: Dict[str, Layout] = {
    'semi-table1':
    Layout(
        'Semi-supervised Table 1: Faster R-CNN fine-tuned from SwAV '
        'backbones', (_coco('AP50', 'bbox_mAP_50'), _coco(
            'APs', 'bbox_mAP_s'), _coco('APm', 'bbox_mAP_m'),
                      _coco('APl', 'bbox_mAP_l')),
        'COCO metrics in percent; APs/APm/APl averaged over IoU 0.5:0.95.'),
    'da-table1':
    Layout('Domain adaptation Table 1: KITTI mAP per pretraining',
           (Column('mAP', 'kitti/mAP'), ),
           'mAP: mean of the per-class AP at IoU 0.5 (percent).'),
    'da-table2':
    Layout(
        'Domain adaptation Table 2: KITTI AP50 per class',
        tuple(Column(c, f'kitti/AP50_{c}')
              for c in KITTI_CLASSES) + (Column('mAP', 'kitti/mAP'), ),
        'AP at IoU 0.5 in percent; n/a where the test split has no box of '
        'the class.'),
    'da-table3':
    Layout('Domain adaptation Table 3: KITTI mAP per retraining size',
           (Column('mAP', 'kitti/mAP'), ),
           'mAP: mean of the per-class AP at IoU 0.5 (percent).'),
    'coco':
    Layout(
        'COCO bbox metrics',
        (_coco('AP', 'bbox_mAP'), _coco('AP50', 'bbox_mAP_50'),
         _coco('AP75', 'bbox_mAP_75'), _coco('APs', 'bbox_mAP_s'),
         _coco('APm', 'bbox_mAP_m'), _coco('APl', 'bbox_mAP_l')),
        'COCO metrics in percent.'),
}


@dataclass
class RunMetrics:
    """The metrics of one test run and its axis values (labels)."""
    stage: str
    name: str
    axes: Dict[str, str]
    metrics: Dict[str, float]
    path: str
    order: int = 0
    values: Dict[str, object] = field(default_factory=dict)


def parse_run_name(name: str) -> Dict[str, str]:
    """``'backbone-r50-200e_lr-0.02'`` -> ``{'backbone': 'r50-200e', ...}``.

    Axis names have no ``-`` or ``_`` and labels no ``_`` (the grid schema
    guarantees both), so the split is unambiguous. ``'default'`` (a run
    without axes) gives ``{}``.
    """
    if name == 'default':
        return {}
    axes = {}
    for part in name.split('_'):
        axis, sep, label = part.partition('-')
        if not sep or not axis or not label:
            raise AggregateError(
                f'run directory {name!r} is not named <axis>-<label>_...')
        axes[axis] = label
    return axes


def find_metrics(grid_dir: str, stages: Optional[Sequence[str]] = None
                 ) -> List[RunMetrics]:
    """The metrics of every finished test run of a grid.

    Args:
        grid_dir (str): ``<work_root>/<grid name>``.
        stages (list[str], optional): The test stages to read; None reads
            every stage with metrics files (a grid may test several branches,
            e.g. baselines and retrained backbones).

    Returns:
        list[RunMetrics]: In the grid's run order (marker ``order``), then
        by stage and name.

    Raises:
        AggregateError: No metrics, or a named stage without metrics.
    """
    if isinstance(stages, str):
        stages = [stages]
    if not osp.isdir(grid_dir):
        raise AggregateError(f'{grid_dir} is not a directory (give the '
                             'grid\'s work dir, <work_root>/<grid name>)')
    found = sorted(
        s for s in os.listdir(grid_dir)
        if osp.isdir(osp.join(grid_dir, s)) and any(
            osp.isfile(osp.join(grid_dir, s, r, METRICS_FILE))
            for r in os.listdir(osp.join(grid_dir, s))
            if osp.isdir(osp.join(grid_dir, s, r))))
    if not found:
        raise AggregateError(
            f'no {METRICS_FILE} under {grid_dir}/<stage>/<run>/ (has the '
            'test stage run?)')
    for stage in stages or []:
        if stage not in found:
            raise AggregateError(
                f'no {METRICS_FILE} in {grid_dir}/{stage}/*/ (stages with '
                f'metrics: {", ".join(found)})')
    out: List[RunMetrics] = []
    for stage in stages or found:
        out += _stage_metrics(grid_dir, stage)
    out.sort(key=lambda r: (r.order, r.stage, r.name))
    return out


def _stage_metrics(grid_dir: str, stage: str) -> List[RunMetrics]:
    out = []
    stage_dir = osp.join(grid_dir, stage)
    for name in sorted(os.listdir(stage_dir)):
        path = osp.join(stage_dir, name, METRICS_FILE)
        if not osp.isfile(path) or STALE_SUFFIX in name:
            continue  # not a test run, or an old one moved aside
        try:
            metrics = read_metrics(path)
        except (OSError, ValueError) as e:
            raise AggregateError(f'{path}: unreadable metrics ({e})') from None
        if not isinstance(metrics, dict):
            raise AggregateError(f'{path}: expected {{"metrics": {{...}}}}')
        marker_path = osp.join(stage_dir, name, DONE_MARKER)
        order, axes, values = 1 << 30, None, {}
        if osp.isfile(marker_path):
            try:
                with open(marker_path) as f:
                    marker = json.load(f)
                order = int(marker.get('order', order))
                axes = dict(marker.get('axes', {}))
                values = dict(marker.get('values', {}))
            except (OSError, ValueError) as e:
                raise AggregateError(
                    f'{marker_path}: unreadable marker ({e})') from None
        if axes is None:
            axes = parse_run_name(name)
        out.append(
            RunMetrics(stage, name, axes, metrics, path, order, values))
    return out


def _number(value) -> Optional[float]:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def build_table(runs: Sequence[RunMetrics], layout: str,
                axes: Optional[Sequence[str]] = None
                ) -> Tuple[List[str], List[Dict[str, object]]]:
    """Rows (one per run) of ``layout``: axis labels, then the metrics.

    Args:
        runs (list[RunMetrics]): From :func:`find_metrics`.
        layout (str): A key of :data:`LAYOUTS`.
        axes (list[str], optional): Axis columns to show (default: every
            axis that varies; all axes when none varies). Runs of several
            stages get a ``stage`` column first.

    Returns:
        tuple[list[str], list[dict]]: Column names and rows; a metric
        absent from a run is None (shown as n/a).

    Raises:
        AggregateError: Unknown layout, or no run has any of its metrics.
    """
    if layout not in LAYOUTS:
        raise AggregateError(f'unknown layout {layout!r}; one of '
                             f'{", ".join(LAYOUTS)}')
    spec = LAYOUTS[layout]
    if not any(c.key in r.metrics for r in runs for c in spec.columns):
        found = sorted({k for r in runs for k in r.metrics})
        raise AggregateError(
            f'layout {layout} needs the metrics '
            f'{", ".join(c.key for c in spec.columns)} but the runs have '
            f'{", ".join(found[:12]) or "none"}'
            f'{" ..." if len(found) > 12 else ""}')
    if axes is None:
        names: List[str] = []
        for r in runs:
            names += [a for a in r.axes if a not in names]
        varying = [
            a for a in names if len({r.axes.get(a)
                                     for r in runs}) > 1
        ]
        axes = varying or names
    else:
        missing = [a for a in axes if not any(a in r.axes for r in runs)]
        if missing:
            raise AggregateError(f'no run has the axes {missing}')
    several = len({r.stage for r in runs}) > 1
    columns = (['stage'] if several else []) + (
        list(axes) or ([] if several else ['run'])) + [
            c.header for c in spec.columns]
    rows = []
    for r in runs:
        row: Dict[str, object] = {a: r.axes.get(a, '') for a in axes}
        if several:
            row['stage'] = r.stage
        elif not axes:
            row['run'] = r.name
        for c in spec.columns:
            value = _number(r.metrics.get(c.key))
            if value is not None and value < 0 and c.key.startswith('coco/'):
                value = None  # COCO's -1: no ground truth of that size
            row[c.header] = None if value is None else value * c.scale
        rows.append(row)
    return columns, rows


def to_csv(columns: Sequence[str], rows: Sequence[Dict[str, object]]) -> str:
    """CSV text; empty cells where a value is absent, full precision."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(columns)
    for row in rows:
        writer.writerow(['' if row.get(c) is None else row.get(c)
                         for c in columns])
    return buf.getvalue()


def render_markdown(columns: Sequence[str], rows: Sequence[Dict[str, object]],
                    layout: str, source: str) -> str:
    """The Markdown report: title, table, note and where it came from."""
    spec = LAYOUTS[layout]
    return (f'# {spec.title}\n\n{markdown_table(rows, columns)}\n\n'
            f'{spec.note} Source: {source} ({len(rows)} runs).\n')
