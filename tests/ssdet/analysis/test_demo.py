"""The demo's report (ssdet.analysis.demo) from finished runs written by
hand: per-seed tables, mean / standard deviation / gap over seeds, the
bootstrap call site and the machine record."""
import json
import os
import os.path as osp

import pytest

from ssdet.analysis import demo
from ssdet.sweep import expand
from ssdet.sweep.commands import write_marker

REPO = osp.join(osp.dirname(__file__), '..', '..', '..')
# AP, AP50 of (random init, SwAV) per seed, as fractions
RESULTS = {0: ((0.08, 0.17), (0.116, 0.233)), 1: ((0.10, 0.20), (0.12, 0.24))}


def finish(runs, tmp_path):
    """Write what the runs of the demo grid leave: records, metrics."""
    for run in runs:
        os.makedirs(run.work_dir, exist_ok=True)
        artifact = osp.join(run.work_dir, 'out')
        if run.stage.name == 'test':
            seed = run.axis_value('seed').value
            backbone = run.upstream.choices['backbone'][0]
            ap, ap50 = RESULTS[seed][backbone == 'swav']
            artifact = osp.join(run.work_dir, 'metrics.json')
            metrics = {
                'coco/bbox_mAP': ap,
                'coco/bbox_mAP_50': ap50,
                'coco/bbox_mAP_s': 0.05,
                'coco/bbox_mAP_m': 0.1,
                'coco/bbox_mAP_l': -1.0,
                'coco/spotted_disc_precision': ap,
            }
            with open(artifact, 'w') as f:
                json.dump(dict(metrics=metrics), f)
        else:
            open(artifact, 'w').close()
        if run.stage.kind == 'train':  # the mmengine log of a training
            log = osp.join(run.work_dir, '20240101_000000', 'vis_data')
            os.makedirs(log)
            with open(osp.join(log, 'scalars.json'), 'w') as f:
                for epoch in (1, 2):
                    f.write(json.dumps(dict(loss=3.5 - epoch, iter=epoch,
                                            epoch=epoch, step=epoch)) + '\n')
                    f.write(json.dumps({'coco/bbox_mAP_50': 0.1 * epoch,
                                        'step': epoch}) + '\n')
        write_marker(run, ['cmd'], artifact, 60.0, {})


def cells(text):
    """The rows of the Markdown tables in ``text`` as lists of cells."""
    return [[c.strip() for c in line.strip('|').split('|')]
            for line in text.splitlines() if line.startswith('|')]


@pytest.fixture
def runs(tmp_path):
    grid = demo.load_demo_grid([0, 1], str(tmp_path / 'data'),
                               str(tmp_path / 'work' / 'demo'),
                               osp.join(REPO, demo.GRID_FILE))
    runs = expand(grid)
    finish(runs, tmp_path)
    return runs


def test_report_per_seed_and_over_seeds(runs, tmp_path, monkeypatch):
    calls = []

    def interval(ann_file, preds_random, preds_swav):
        calls.append((ann_file, preds_random, preds_swav))
        return {'AP': dict(a=8.0, b=11.6, gap=3.6, low=1.2, high=6.0),
                'AP50': dict(a=17.0, b=23.3, gap=6.3, low=2.0, high=10.5)}

    monkeypatch.setattr(demo, 'gap_interval', interval)
    work = str(tmp_path / 'work' / 'demo')
    report = demo.write_report(runs, work)
    assert report == open(osp.join(work, 'results.md')).read()
    assert report.startswith(
        '# Demo: Faster R-CNN R18-FPN (half-width ResNet-18), '
        f'{tmp_path}/data, {tmp_path}/data-seed1, seeds 0, 1\n')
    seed0 = report[report.index('## Seed 0'):report.index('## Seed 1')]
    assert cells(seed0)[2:] == [
        ['random init', '8.0', '17.0', '5.0', '10.0', 'n/a'],
        ['SwAV', '11.6', '23.3', '5.0', '10.0', 'n/a'],
        ['difference', '3.6', '6.3', '0.0', '0.0', 'n/a'],
    ]
    assert 'AP gap +3.6 [+1.2, +6.0], AP50 gap +6.3 [+2.0, +10.5]' in seed0
    assert calls[1] == (
        f'{tmp_path}/data-seed1/annotations/test.json',
        f'{work}/test/seed-1_backbone-random/predictions.pkl',
        f'{work}/test/seed-1_backbone-swav/predictions.pkl')
    over = cells(report[report.index('## Over 2 seeds'):
                        report.index('## Machine')])
    # AP of random init: 8.0 and 10.0 -> mean 9.0, std 1.4; the gaps: AP
    # 3.6 and 2.0, AP50 6.3 and 4.0
    assert over[2][:3] == ['random init', '9.0 ± 1.4', '18.5 ± 2.1']
    assert over[4][:3] == ['difference', '2.8 ± 1.1', '5.2 ± 1.6']
    assert over[-2:] == [['0', '+3.6', '+6.3', '+0.0', '+0.0', 'n/a'],
                         ['1', '+2.0', '+4.0', '+0.0', '+0.0', 'n/a']]
    machine = report[report.index('## Machine'):]
    for key in ('- CPU: ', '- torch threads: ', '- libraries: torch ',
                'pretrain/seed-1 60 s'):
        assert key in machine
    for seed in (0, 1):
        assert osp.isfile(f'{work}/plots/seed-{seed}/per_class_ap.png')
        assert f'](plots/seed-{seed}/finetune_loss.png)' in report


def test_report_of_one_seed(runs, tmp_path, monkeypatch):
    monkeypatch.setattr(
        demo, 'gap_interval', lambda *files: {
            'AP50': dict(a=17.0, b=21.6, gap=4.6, low=-0.4, high=9.5)})
    work = str(tmp_path / 'work' / 'demo')
    seed0 = [r for r in runs if r.axis_value('seed').value == 0]
    report = demo.write_report(seed0, work)
    assert f'{tmp_path}/data, seed 0\n' in report
    assert '## Seed' not in report and '## Over' not in report
    assert 'AP50 gap +4.6 [-0.4, +9.5]' in report
    assert osp.isfile(f'{work}/plots/finetune_loss.png')


def test_wall_time_counts_runs_side_by_side_once(runs, tmp_path,
                                                 monkeypatch):
    # (start, end) in seconds of seed 0's runs: the fine-tunings and the
    # tests side by side; the data existed before (a record with a note)
    spans = {'data': None, 'pretrain': (20, 700),
             'finetune/seed-0_backbone-random': (700, 1300),
             'finetune/seed-0_backbone-swav': (701, 1311),
             'test/seed-0_backbone-random': (1311, 1360),
             'test/seed-0_backbone-swav': (1311, 1358)}
    seed0 = [r for r in runs if r.axis_value('seed').value == 0]
    for run in seed0:
        span = spans.get(run.key, spans.get(run.stage.name))
        path = osp.join(run.work_dir, '.done')
        record = json.load(open(path))
        if span is None:
            record['note'] = 'existing'
        else:
            record['seconds'] = span[1] - span[0]
            record['finished'] = f'2026-01-01T00:{span[1] // 60:02d}:' \
                f'{span[1] % 60:02d}'
        json.dump(record, open(path, 'w'))
    assert demo.wall_seconds(seed0) == 1340  # 1360 - 20, not the sum 2018
    assert demo.wall_seconds(seed0[:1]) is None
    monkeypatch.setattr(demo, 'gap_interval', lambda *files: {
        'AP50': dict(a=17.0, b=21.6, gap=4.6, low=-0.4, high=9.5)})
    report = demo.write_report(seed0, str(tmp_path / 'work' / 'demo'))
    assert 'seed 0 1340 s (22.3 min)' in report
