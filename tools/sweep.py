"""Run a grid of experiments (pretrain -> convert -> fine-tune -> test).

Examples:
    python tools/sweep.py configs/grids/semi_table1.yaml --dry-run
    python tools/sweep.py configs/grids/semi_table1.yaml \\
        --launcher pytorch --gpus 4 --only 'finetune/*r50-200e*'
    PARTITION=gpu python tools/sweep.py configs/grids/da_table1.yaml \\
        --launcher slurm --gpus 8 --jobs 4

Finished runs are skipped, interrupted training resumes, a failed run is
reported while the others go on, and the exit code is non-zero when a run
did not finish. A finished run whose settings changed since is reported as
stale and kept; ``--rerun-stale`` moves it aside and reruns it. The engine
(ssdet.sweep, on doit) and the grid schema are described in docs/sweeps.md.
"""
import argparse
import os
import os.path as osp
import sys

from ssdet.sweep import (GridError, Sweep, SweepError, SweepOptions, exit_code,
                         expand, load_grid, run_state, select, summary_table)
from ssdet.sweep.commands import LAUNCHERS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Run the stages and axes of a grid file '
        '(docs/sweeps.md)')
    parser.add_argument('grid', help='grid file (configs/grids/*.yaml)')
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='print the commands (placeholders of unfinished runs shown as '
        'what they will be) and run nothing')
    parser.add_argument(
        '--list',
        action='store_true',
        help='list the runs and their state (new, started, done, stale)')
    parser.add_argument(
        '--only',
        action='append',
        default=[],
        metavar='PATTERN',
        help='run only runs matching PATTERN (fnmatch on stage/run, or on '
        'the stage or run name alone) and the runs they need; repeatable')
    parser.add_argument(
        '--launcher',
        choices=LAUNCHERS,
        default='none',
        help='none: python tools/train.py; pytorch: tools/dist_train.sh; '
        'slurm: tools/slurm_train.sh (default: none)')
    parser.add_argument(
        '--gpus',
        type=int,
        default=1,
        help='GPUs (processes) per train/test run (default: 1)')
    parser.add_argument(
        '--partition',
        default=os.environ.get('PARTITION'),
        help='slurm partition (default: $PARTITION)')
    parser.add_argument(
        '-j',
        '--jobs',
        type=int,
        default=1,
        help='runs at the same time, each after the runs it needs (default: '
        '1; e.g. several srun allocations with --launcher slurm)')
    parser.add_argument(
        '--work-root',
        help='root of the work dirs (default: the grid\'s work_root, '
        'work_dirs)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        metavar='KEY=VALUE',
        help='added to every train and test run; not part of run names, '
        'part of their recipe (e.g. to shorten schedules for a smoke test)')
    parser.add_argument(
        '--rerun-stale',
        action='store_true',
        help='rerun runs that finished with other settings than the grid '
        'now gives (or before a run they need ran again), after moving '
        'their work dir aside to WORK_DIR.stale-TIMESTAMP; without it they '
        'are reported and left as they are')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        grid = load_grid(args.grid, args.work_root)
        runs = select(expand(grid), args.only)
        opts = SweepOptions(
            launcher=args.launcher,
            gpus=args.gpus,
            partition=args.partition,
            python=sys.executable,
            tools_dir=osp.relpath(osp.join(ROOT, 'tools')),
            cfg_options=list(args.cfg_options))
        sweep = Sweep(
            runs,
            opts,
            echo=lambda line: print(line, flush=True),
            rerun_stale=args.rerun_stale,
            jobs=args.jobs)
    except (GridError, SweepError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    if args.list:
        for run in runs:
            print(f'{run.key:60s} {run_state(run, opts):8s} {run.work_dir}')
        return 0
    print(
        f'grid {grid.name} ({args.grid}): {len(runs)} runs under '
        f'{grid.work_dir}',
        flush=True)
    if args.dry_run:
        sweep.run(dry_run=True)
        return 0
    results = sweep.run()
    print('\n' + summary_table(results))
    return exit_code(results)


if __name__ == '__main__':
    sys.exit(main())
