"""Tables (Markdown and CSV) of a grid's test metrics, in report layouts.

Reads what ``tools/sweep.py`` leaves in each test run's work dir: the
``metrics.json`` and the ``.done`` record (axis labels, grid order).

Example:
    python tools/analysis/aggregate.py work_dirs/semi_table1 \\
        --layout semi-table1
    # -> work_dirs/semi_table1/results/semi-table1.{md,csv}
"""
import argparse
import os
import os.path as osp
import sys

from ssdet.analysis.tables import (LAYOUTS, AggregateError, build_table,
                                   find_metrics, render_markdown, to_csv)
from ssdet.io import atomic_write_text, refuse_overwrite


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Aggregate the test metrics of a grid into tables')
    parser.add_argument(
        'work_dir', help='the grid\'s work dir (<work_root>/<grid name>)')
    parser.add_argument(
        '--layout',
        choices=list(LAYOUTS),
        default='coco',
        help='table layout (default: coco)')
    parser.add_argument(
        '--stage',
        nargs='+',
        help='test stage(s) to read (default: every stage with metrics; '
        'several get a stage column)')
    parser.add_argument(
        '--axes',
        nargs='+',
        help='axis columns, in this order (default: the axes that vary)')
    parser.add_argument(
        '--out',
        help='output folder (default: WORK_DIR/results); writes '
        'LAYOUT.md and LAYOUT.csv')
    parser.add_argument(
        '--force', action='store_true', help='overwrite existing tables')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out or osp.join(args.work_dir, 'results')
    md_path = osp.join(out, f'{args.layout}.md')
    csv_path = osp.join(out, f'{args.layout}.csv')
    try:
        runs = find_metrics(args.work_dir, args.stage)
        columns, rows = build_table(runs, args.layout, args.axes)
        refuse_overwrite([md_path, csv_path], args.force)
    except (AggregateError, FileExistsError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    stages = sorted({r.stage for r in runs})
    source = ', '.join(osp.join(args.work_dir, s) for s in stages)
    markdown = render_markdown(columns, rows, args.layout, source)
    os.makedirs(out, exist_ok=True)
    atomic_write_text(md_path, markdown)
    atomic_write_text(csv_path, to_csv(columns, rows))
    print(markdown)
    print(f'written: {md_path}, {csv_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
