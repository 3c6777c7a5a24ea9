"""The CPU demo (``tools/demo.py``, ``make demo``): its grid and its report.

The demo is the grid ``configs/grids/demo.yaml``, run by the sweep engine
(:mod:`ssdet.sweep`): per seed, synthetic data -> SwAV pretraining -> Faster
R-CNN fine-tuning from random initialisation and from the SwAV backbone ->
the test of both on the held-out test split. Here:

- :func:`load_demo_grid`: the grid with its seed axis set (each seed its own
  data, split and training seed) and its work dir;
- :func:`stale_data`: whether existing data is the set the demo was tuned
  on;
- :func:`write_report`: ``results.md`` (AP, AP50, APs/m/l of both backbones
  and their difference per seed; mean, standard deviation and each seed's
  gap over seeds; the paired bootstrap interval of the gap; the machine)
  and the plots under ``plots/``.
"""
import datetime
import json
import math
import os
import os.path as osp
import platform
import statistics
from dataclasses import dataclass, field
from importlib import metadata
from typing import Dict, List, Optional, Sequence, Tuple

from ..data import synthetic
from ..io import atomic_write_text
from ..sweep.commands import METRICS_FILE, PREDICTIONS_FILE, read_marker
from ..sweep.grid import Grid, Run, parse_grid, read_grid_file
from ..tables import coco_row, markdown_table, read_metrics
from .logs import config_value, load_log
from .plots import (per_class_values, plot_class_bars, plot_metric_curves,
                    plot_swav_loss)

#: The demo's grid, relative to the repository root.
GRID_FILE = 'configs/grids/demo.yaml'
#: Images per split of the demo's data: the generator's defaults (the grid
#: runs ``make_synthetic.py`` without size options), so that the
#: ``make_synthetic.py --force`` the demo suggests for stale data writes
#: them.
DATA_SIZES = dict(synthetic.DEFAULT_SPLIT_SIZES)
#: Labels of the fine-tune stage's ``backbone`` axis -> names in the report.
BACKBONES = {'random': 'random init', 'swav': 'SwAV'}
COLUMNS = ('AP', 'AP50', 'APs', 'APm', 'APl')
#: Packages whose versions the report records.
PACKAGES = ('torch', 'torchvision', 'mmengine', 'mmcv-lite', 'mmdet',
            'mmselfsup', 'mmcls', 'numpy', 'pycocotools', 'doit')


# --------------------------------------------------------------------- grid
def data_root(data: str, seed: int) -> str:
    """The data folder of ``seed``: ``data`` for seed 0, ``data-seedS``
    otherwise."""
    data = data.rstrip('/')
    return data if seed == 0 else f'{data}-seed{seed}'


def load_demo_grid(seeds: Sequence[int],
                   data: str,
                   work_dir: str,
                   path: str = GRID_FILE) -> Grid:
    """The demo grid for ``seeds``, its runs under ``work_dir``.

    Args:
        seeds (Sequence[int]): Seeds of the data, its split and training.
        data (str): The data folder of seed 0 (:func:`data_root`).
        work_dir (str): Where the runs go (``WORK_DIR/<stage>/seed-S...``):
            the grid's work dir.
        path (str): The grid file. Defaults to :data:`GRID_FILE`.

    Raises:
        GridError: The grid file, or the seeds, break the schema.
    """
    spec = read_grid_file(path)
    stage = spec['stages'][0]
    stage['axes'] = dict(
        seed=dict(
            values={
                str(s): dict(value=s, vars=dict(data=data_root(data, s)))
                for s in seeds
            }))
    work_dir = osp.normpath(work_dir)
    return parse_grid(spec, path,
                      osp.dirname(work_dir) or '.', osp.basename(work_dir))


def stale_data(data: str) -> Optional[str]:
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
        changed = sorted(k for k in now if (made_with or {}).get(k) != now[k])
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


@dataclass
class SeedRuns:
    """The runs of one seed; ``finetune`` and ``test`` by backbone label."""
    seed: int
    data: str
    runs: List[Run] = field(default_factory=list)
    pretrain: Optional[Run] = None
    finetune: Dict[str, Run] = field(default_factory=dict)
    test: Dict[str, Run] = field(default_factory=dict)


def by_seed(runs: Sequence[Run]) -> List[SeedRuns]:
    """The demo grid's runs, grouped by seed (in seed order)."""
    seeds: Dict[int, SeedRuns] = {}
    for run in runs:
        seed = run.axis_value('seed').value
        if seed not in seeds:
            seeds[seed] = SeedRuns(seed, run.var('data'))
        group = seeds[seed]
        group.runs.append(run)
        if run.stage.name == 'pretrain':
            group.pretrain = run
        elif run.stage.name in ('finetune', 'test'):
            label, _ = dict(run.settings)['backbone']
            getattr(group, run.stage.name)[label] = run
    return [seeds[s] for s in sorted(seeds)]


# ------------------------------------------------------------------ report
def gap_interval(ann_file: str, preds_random: str,
                 preds_swav: str) -> dict:
    """The paired bootstrap interval of the AP and AP50 gap (SwAV minus
    random init) over the test images.

    Returns:
        dict: ``{'AP': {'a', 'b', 'gap', 'low', 'high'}, 'AP50': {...}}`` in
        percent (``a``: random init, ``b``: SwAV).
    """
    from .bootstrap import paired_bootstrap  # pycocotools: only when needed
    return paired_bootstrap(ann_file, preds_random, preds_swav)


def machine() -> Dict[str, str]:
    """What ran the demo: CPU model and cores, torch threads, versions."""
    cpu = platform.processor()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next((line.split(':', 1)[1].strip()
                        for line in f if line.startswith('model name')), cpu)
    except OSError:
        pass
    import torch
    cores = os.cpu_count()
    usable = (
        len(os.sched_getaffinity(0))
        if hasattr(os, 'sched_getaffinity') else cores)
    threads = f'{torch.get_num_threads()}'
    if os.environ.get('OMP_NUM_THREADS'):
        threads += f' (OMP_NUM_THREADS={os.environ["OMP_NUM_THREADS"]})'
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f'{name} {metadata.version(name)}')
        except metadata.PackageNotFoundError:
            pass
    return {
        'CPU': f'{cpu or "unknown"}, {cores} cores ({usable} usable)',
        'torch threads': threads,
        'Python': f'{platform.python_version()} ({platform.platform()})',
        'libraries': ', '.join(versions),
    }


def _gap(
    metrics: Dict[str, Dict[str,
                            Optional[float]]]) -> Dict[str, Optional[float]]:
    a, b = metrics['random'], metrics['swav']
    return {
        c: None if a.get(c) is None or b.get(c) is None else b[c] - a[c]
        for c in COLUMNS
    }


def _signed(value: Optional[float]) -> str:
    return 'n/a' if value is None else f'{value:+.1f}'


def _mean_std(values: Sequence[Optional[float]]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return 'n/a'
    std = statistics.stdev(values) if len(values) > 1 else math.nan
    return f'{statistics.mean(values):.1f} ± {std:.1f}'


def make_plots(seed: SeedRuns, metrics: Dict[str, dict],
               out: str) -> List[Tuple[str, str]]:
    """The figures of one seed under ``out``: [(title, path)]."""
    plots = []
    swav_dir = seed.pretrain.work_dir
    loss = load_log(swav_dir).series('loss', x='iter')
    if loss[0]:
        k = config_value(swav_dir, 'num_prototypes')
        plots.append(('SwAV loss',
                      plot_swav_loss(
                          loss,
                          osp.join(out, 'swav_loss.png'),
                          int(k) if k else None,
                          title='SwAV pretraining loss (unlabeled pool)')))
    curves = {}
    for label, run in seed.finetune.items():
        curves[BACKBONES[label]] = load_log(run.work_dir).series(
            'loss', x='iter')
    plots.append(('fine-tuning loss',
                  plot_metric_curves(
                      curves,
                      osp.join(out, 'finetune_loss.png'),
                      ylabel='loss (train)',
                      xlabel='iteration',
                      title='Faster R-CNN fine-tuning: training loss')))
    per_class = {}
    for label, m in metrics.items():
        values = per_class_values(m, synthetic.CLASSES, 'coco/{}_precision')
        per_class[BACKBONES[label]] = {
            c: None if v is None else 100 * v
            for c, v in values.items()
        }
    plots.append(('per-class AP',
                  plot_class_bars(
                      per_class,
                      synthetic.CLASSES,
                      osp.join(out, 'per_class_ap.png'),
                      ylabel='AP',
                      title='Per-class AP (test of the final checkpoints)')))
    return plots


def _seed_section(seed: SeedRuns, plot_dir: str, work_dir: str,
                  heading: str) -> Tuple[str, Dict[str, dict]]:
    """The report of one seed and its COCO rows (percent) by backbone."""
    raw = {
        label: read_metrics(osp.join(run.work_dir, METRICS_FILE))
        for label, run in seed.test.items()
    }
    coco = {
        label: {  # COCO's -1: no object of that size in the split
            c: None if v is not None and v < 0 else v
            for c, v in coco_row(m).items()
        }
        for label, m in raw.items()
    }
    rows = [dict(backbone=BACKBONES[b], **coco[b]) for b in BACKBONES]
    rows.append(dict(backbone='difference', **_gap(coco)))
    interval = gap_interval(
        osp.join(seed.data, 'annotations', 'test.json'), *[
            osp.join(seed.test[b].work_dir, PREDICTIONS_FILE)
            for b in BACKBONES
        ])
    gaps = ', '.join(f'{k} gap {_signed(v["gap"])} [{_signed(v["low"])}'
                     f', {_signed(v["high"])}]' for k, v in interval.items())
    bootstrap = f'Paired bootstrap over the test images (95 %): {gaps}.'
    figures = '\n'.join(f'![{title}]({osp.relpath(path, work_dir)})'
                        for title, path in make_plots(seed, raw, plot_dir))
    table = markdown_table(rows, ('backbone', ) + COLUMNS)
    return f'{heading}{table}\n\n{bootstrap}\n\n{figures}\n', coco


def _over_seeds(coco: Dict[int, Dict[str, dict]]) -> str:
    """Mean and standard deviation over seeds, and each seed's gap."""
    gaps = {s: _gap(rows) for s, rows in coco.items()}
    rows = [
        dict(
            backbone=BACKBONES[b],
            **{c: _mean_std([coco[s][b][c] for s in coco])
               for c in COLUMNS}) for b in BACKBONES
    ]
    rows.append(
        dict(
            backbone='difference',
            **{c: _mean_std([g[c] for g in gaps.values()])
               for c in COLUMNS}))
    per_seed = [
        dict(seed=s, **{c: _signed(g[c])
                        for c in COLUMNS}) for s, g in gaps.items()
    ]
    return (f'## Over {len(coco)} seeds\n\nMean ± standard deviation over '
            f'the seeds:\n\n{markdown_table(rows, ("backbone", ) + COLUMNS)}'
            '\n\nThe gap (SwAV minus random init) of each seed:\n\n'
            f'{markdown_table(per_seed, ("seed", ) + COLUMNS)}\n')


def _machine_section(runs: Sequence[Run]) -> str:
    lines = [f'- {k}: {v}' for k, v in machine().items()]
    times = []
    for run in runs:
        record = read_marker(run) or {}
        times.append(f'{run.key} ' +
                     ('existing' if 'note' in
                      record else f'{record.get("seconds", 0):.0f} s'))
    lines.append(f'- run times: {"; ".join(times)}')
    walls = [(seed.seed, wall_seconds(seed.runs)) for seed in by_seed(runs)]
    if all(seconds is not None for _, seconds in walls):
        lines.append('- wall time (first start to last end, runs side by '
                     'side counted once): ' + '; '.join(
                         f'seed {seed} {seconds:.0f} s ({seconds / 60:.1f} '
                         'min)' for seed, seconds in walls))
    return '## Machine\n\n' + '\n'.join(lines) + '\n'


def wall_seconds(runs: Sequence[Run]) -> Optional[float]:
    """Seconds from the first start to the last end of ``runs`` (their
    records' ``finished`` minus ``seconds``), leaving out runs without a
    timed record (data that existed before); None when none has one."""
    spans = []
    for run in runs:
        record = read_marker(run) or {}
        if 'note' in record or 'finished' not in record:
            continue
        end = datetime.datetime.fromisoformat(record['finished'])
        spans.append((end.timestamp() - record['seconds'], end.timestamp()))
    if not spans:
        return None
    return max(e for _, e in spans) - min(b for b, _ in spans)


def write_report(runs: Sequence[Run], work_dir: str) -> str:
    """Write ``WORK_DIR/results.md`` and the plots of finished demo runs
    (``WORK_DIR/plots/``; ``plots/seed-S/`` with several seeds).

    Args:
        runs (Sequence[Run]): The demo grid's runs, all finished.
        work_dir (str): The demo's work dir.

    Returns:
        str: The Markdown written.
    """
    seeds = by_seed(runs)
    several = len(seeds) > 1
    sections, coco = [], {}
    for seed in seeds:
        plot_dir = osp.join(work_dir, 'plots')
        heading = ''
        if several:
            plot_dir = osp.join(plot_dir, f'seed-{seed.seed}')
            heading = f'## Seed {seed.seed} ({seed.data})\n\n'
        section, coco[seed.seed] = _seed_section(seed, plot_dir, work_dir,
                                                 heading)
        sections.append(section)
    if several:
        sections.append(_over_seeds(coco))
    sections.append(_machine_section(runs))
    names = ', '.join(str(s.seed) for s in seeds)
    report = (
        '# Demo: Faster R-CNN R18-FPN (half-width ResNet-18), '
        f'{", ".join(s.data for s in seeds)}, '
        f'seed{"s" if several else ""} {names}\n\n'
        'Test split (held out: the data and schedules were tuned on val). '
        'Same fine-tuning budget for both; final checkpoints, none picked '
        'on val.\n\n' + '\n'.join(sections))
    atomic_write_text(osp.join(work_dir, 'results.md'), report)
    return report
