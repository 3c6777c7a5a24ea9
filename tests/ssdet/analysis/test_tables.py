"""Aggregation of a grid's test metrics into the report layouts."""
import os

import pytest

from ssdet.analysis.tables import (AggregateError, build_table, find_metrics,
                                   parse_run_name, to_csv)


def test_parse_run_name():
    assert parse_run_name('backbone-r50-200e-3000p_lr-0.02') == {
        'backbone': 'r50-200e-3000p',
        'lr': '0.02'
    }
    assert parse_run_name('frozen--1') == {'frozen': '-1'}
    assert parse_run_name('default') == {}
    with pytest.raises(AggregateError, match='<axis>-<label>'):
        parse_run_name('nolabel')


def test_semi_table1_rows_in_grid_order(coco_grid):
    runs = find_metrics(coco_grid)
    assert [r.axes['backbone'] for r in runs] == [
        'r50-200e-3000p', 'r18-70e-1000p'
    ]
    columns, rows = build_table(runs, 'semi-table1')
    assert columns == ['backbone', 'AP50', 'APs', 'APm', 'APl']
    assert rows[0]['AP50'] == pytest.approx(50.0)
    assert rows[1]['APl'] is None  # COCO's -1: no large objects
    assert rows[1]['APs'] == pytest.approx(5.0)


def test_runs_moved_aside_by_rerun_stale_are_not_aggregated(
        coco_grid, write_test_run):
    write_test_run(coco_grid, 'test',
                   'backbone-r18-70e-1000p.stale-20261126_120000',
                   dict(backbone='r18-70e-1000p'),
                   dict(backbone='r18-70e-1000p'),
                   {'coco/bbox_mAP_50': 0.9}, 0)
    runs = find_metrics(coco_grid)
    assert [r.name for r in runs] == [
        'backbone-r50-200e-3000p', 'backbone-r18-70e-1000p'
    ]


def test_da_tables(kitti_grid):
    runs = find_metrics(kitti_grid)
    columns, rows = build_table(runs, 'da-table2')
    assert columns == [
        'pretrain', 'epoch', 'Car', 'Van', 'Truck', 'Pedestrian',
        'Person_sitting', 'Cyclist', 'Tram', 'mAP'
    ]
    assert len(rows) == 6
    assert rows[0]['Car'] == pytest.approx(52.0)
    assert rows[0]['Person_sitting'] is None
    assert rows[0]['mAP'] == pytest.approx(55.0)
    columns, rows = build_table(runs, 'da-table1', axes=['pretrain'])
    assert columns == ['pretrain', 'mAP'] and len(rows) == 6
    csv_text = to_csv(*build_table(runs, 'da-table2'))
    assert csv_text.splitlines()[1].startswith('imagenet,20,52.0,53.0,54.0,'
                                               '55.0,,57.0,58.0,55.0')


def test_layout_needs_its_metrics(coco_grid):
    with pytest.raises(AggregateError, match='kitti/mAP.*coco/bbox_mAP'):
        build_table(find_metrics(coco_grid), 'da-table1')
    with pytest.raises(AggregateError, match='unknown layout'):
        build_table(find_metrics(coco_grid), 'table9')


def test_run_name_fallback_and_stage_choice(tmp_path, write_test_run):
    root = str(tmp_path / 'g')
    run_dir = write_test_run(root, 'test', 'size-5k', {}, {},
                             {'kitti/mAP': 40.0}, 0)
    os.remove(os.path.join(run_dir, '.done'))
    write_test_run(root, 'test2', 'size-90k', dict(size='90k'), {},
                   {'kitti/mAP': 50.0}, 0)
    both = find_metrics(root)
    columns, rows = build_table(both, 'da-table3')
    assert columns == ['stage', 'size', 'mAP']
    # the run with a marker comes in grid order, the one without last
    assert rows == [{'stage': 'test2', 'size': '90k', 'mAP': 50.0},
                    {'stage': 'test', 'size': '5k', 'mAP': 40.0}]
    with pytest.raises(AggregateError, match='stages with metrics: test, '
                       'test2'):
        find_metrics(root, ['test3'])
    runs = find_metrics(root, ['test'])
    assert runs[0].axes == {'size': '5k'}
    columns, rows = build_table(runs, 'da-table3')
    assert rows == [{'size': '5k', 'mAP': 40.0}]
    with pytest.raises(AggregateError, match='no metrics.json'):
        find_metrics(str(tmp_path))


def test_aggregate_tool(coco_grid, tmp_path, capsys, load_tool):
    tool = load_tool('analysis', 'aggregate.py')
    out = str(tmp_path / 'results')
    assert tool.main([coco_grid, '--layout', 'semi-table1', '--out', out
                      ]) == 0
    md = open(os.path.join(out, 'semi-table1.md')).read()
    md = ' '.join(md.split())  # cells are padded to their column's width
    assert '| backbone | AP50 | APs | APm | APl |' in md
    assert '| r18-70e-1000p | 40.0 | 5.0 | 25.0 | n/a |' in md
    csv_text = open(os.path.join(out, 'semi-table1.csv')).read()
    assert csv_text.splitlines()[2] == 'r18-70e-1000p,40.0,5.0,25.0,'
    # never overwrites without --force
    assert tool.main([coco_grid, '--layout', 'semi-table1', '--out', out
                      ]) == 2
    assert '--force' in capsys.readouterr().err
    assert tool.main([coco_grid, '--layout', 'semi-table1', '--out', out,
                      '--force']) == 0
    assert tool.main([coco_grid, '--layout', 'da-table2', '--out', out]) == 2
