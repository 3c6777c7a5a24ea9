"""The CPU demo: does self-supervised pretraining help the detector?

Runs the grid ``configs/grids/demo.yaml`` through the sweep engine (the
project's own tools, each a subprocess, as ``tools/sweep.py`` runs them),
once per seed (its own data, split and training seed):

1. generate the synthetic data (``DATA`` for seed 0, ``DATA-seedS`` for
   seed S; an existing, current data folder is used as it is),
2. SwAV pretraining of a ResNet-18 (half width) on the unlabeled pool,
3. Faster R-CNN fine-tuning from that backbone and from random
   initialisation with the same budget, side by side (``--jobs 2``),
4. test of both final checkpoints (none picked on val) on the held-out
   test split (the data and the schedules were tuned on val),

then writes the report: ``WORK_DIR/results.md`` (AP, AP50 and AP
small/medium/large of both and their difference per seed; mean, standard
deviation and each seed's gap over seeds; the machine) and the plots under
``WORK_DIR/plots/``.

Finished runs are skipped and an interrupted training resumes, so an
interrupted demo continues where it stopped; ``--force`` reruns every run
after the data. Paths are relative to the repository root.
"""
import argparse
import os
import os.path as osp
import sys

from ssdet.analysis.demo import (by_seed, load_demo_grid, stale_data,
                                 write_report)
from ssdet.sweep import (GridError, Sweep, SweepError, SweepOptions, adopt,
                         exit_code, expand, run_state, summary_table)
from ssdet.sweep.commands import RunError
from ssdet.sweep.engine import passive_openmp, subprocess_executor

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Log lines shown on the console; the full logs are in each run's work dir
# (sweep.log). Of the evaluation loops only the metrics lines.
SHOWN = ('Epoch(train)', 'bbox_mAP_copypaste', 'SwAV queue',
         'VerifiedPretrained:', 'error:', 'Error:', 'wrote ')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data',
        default='data/synthetic',
        help='synthetic data of seed 0 (seed S: DATA-seedS)')
    parser.add_argument(
        '--work-dir', default='work_dirs/demo', help='outputs of all runs')
    parser.add_argument(
        '--seeds',
        type=int,
        nargs='+',
        default=[0],
        help='seeds of the data, its split and training; the whole demo '
        'runs once per seed (default: 0)')
    parser.add_argument(
        '--force',
        action='store_true',
        help='rerun every run after the data (finished work dirs are '
        'moved aside)')
    parser.add_argument(
        '--rerun-stale',
        action='store_true',
        help='rerun runs that finished with other settings (e.g. a smoke '
        'run), after moving their work dir aside')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='extra --cfg-options for every training and test run (e.g. to '
        'shorten the schedules: train_cfg.max_epochs=1)')
    parser.add_argument(
        '--jobs',
        type=int,
        default=2,
        help='runs at the same time within a seed (default: 2, the two '
        'fine-tunings side by side, then the two tests; each run keeps its '
        'torch threads, so the numbers do not depend on it)')
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='print the commands of the runs and run nothing')
    args = parser.parse_args(argv)
    if len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
        parser.error('--seeds: distinct seeds >= 0')
    return args


def check_data(runs, opts, dry_run):
    """Refuse stale data; record an existing data folder that is the set
    the demo was tuned on (:func:`stale_data`) as the data run's result: it
    is used, not generated again."""
    for run in runs:
        folder = run.var('data')
        if run.stage.name != 'data' or not osp.isdir(folder):
            continue
        problem = stale_data(folder)
        if problem:
            raise SweepError(
                f'{problem}; regenerate it: python tools/dataset_converters/'
                f'make_synthetic.py --out {folder} --seed '
                f'{run.axis_value("seed").value} --force')
        if run_state(run, opts) != 'done':
            print(f'using existing {folder}')
            if not dry_run:
                adopt(run, opts)


def executor(cmd, env, log_path) -> int:
    """Run one of the demo's commands (:func:`subprocess_executor`), its
    OpenMP threads waiting passively (:func:`passive_openmp`) even when the
    demo runs one at a time: SwAV alone was ~10 % faster so
    (docs/benchmarks.md, "The demo's runs on 2 cores")."""
    return subprocess_executor(
        cmd,
        passive_openmp(env),
        log_path,
        show=lambda line: any(key in line for key in SHOWN))


def main(argv=None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    try:
        grid = load_demo_grid(args.seeds, args.data, args.work_dir)
        runs = expand(grid)
        opts = SweepOptions(
            python=sys.executable, cfg_options=list(args.cfg_options))
        check_data(runs, opts, args.dry_run)
        force = [
            r.key for r in runs if args.force and r.stage.name != 'data'
        ]
        sweeps = [  # the whole demo of one seed, then of the next
            Sweep(seed.runs,
                  opts,
                  executor=executor,
                  echo=lambda line: print(line, flush=True),
                  rerun_stale=args.rerun_stale or args.force,
                  force=force,
                  jobs=args.jobs) for seed in by_seed(runs)
        ]
    except (GridError, SweepError, RunError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    if args.dry_run:
        for sweep in sweeps:
            sweep.run(dry_run=True)
        return 0
    results = []
    for sweep in sweeps:
        results += sweep.run()
        if sweep.interrupted:
            break
    print('\n' + summary_table(results))
    if exit_code(results):
        return exit_code(results)
    report = write_report(runs, grid.work_dir)
    print('\n' + report.split('\n## Machine')[0])
    print(f'written to {osp.join(grid.work_dir, "results.md")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
