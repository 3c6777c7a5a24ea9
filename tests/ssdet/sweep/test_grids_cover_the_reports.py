"""The grids run every row and figure point of both reports.

For each report grid, ``tools/sweep.py GRID --dry-run`` lists its runs; each
row of a report's table and each point of its figures must be one of them,
and each final (test) run must be a report row or point or a run listed
below as not in the report, with the reason. The rows and points are those
the family READMEs give (configs/faster_rcnn/README.md,
configs/kitti/README.md, configs/infomin/README.md, configs/swav/README.md).
"""
import contextlib
import glob
import io
import os
import os.path as osp
import re

import pytest

#: grid -> {row or figure point of a report: the run that produces it}.
REPORT_POINTS = {
    'semi_table1.yaml': {
        'Table 1: ResNet-18, 70 epochs, 1000 prototypes':
        'test/backbone-r18-70e-1000p',
        'Table 1: ResNet-34, 100 epochs, 3000 prototypes':
        'test/backbone-r34-100e-3000p',
        'Table 1: ResNet-50, 100 epochs, 2000 prototypes':
        'test/backbone-r50-100e-2000p',
        'Table 1: ResNet-50, 100 epochs, 3000 prototypes':
        'test/backbone-r50-100e-3000p',
        'Table 1: ResNet-50, 200 epochs, 3000 prototypes':
        'test/backbone-r50-200e-3000p',
        'Fig. 1d: SwAV loss of the main recipe (AMP)':
        'pretrain/backbone-r50-200e-3000p',
        'Fig. 1e: SwAV loss without AMP, stuck at ln K':
        'pretrain-fp32/default',
    },
    'semi_norm.yaml': {
        'FBN as the text describes it (frozen affine, statistics updated)':
        'test/norm-frozen-affine',
        'FBN as the code ran it (fully frozen BN)': 'test/norm-frozen-bn',
        'BN': 'test/norm-bn',
        'GN (a GN backbone, the rest unchanged)': 'test/norm-gn',
    },
    'semi_box_head.yaml': {
        'Shared2FC (the baseline)': 'test/head-shared2fc',
        'MLP head with LayerNorm (text)': 'test/head-shared2fc-ln',
        'GroupNorm bottleneck "res head" (code)': 'test/head-bottleneck-gn',
        'res5 head with an extra BatchNorm': 'test/head-c4-extra-norm',
    },
    'semi_lr_policy.yaml': {
        f'Fig. 1f: {policy}, {epochs}-epoch backbone':
        f'test/backbone-{epochs}e_lr-{policy}'
        for policy in ('frozen', 'uniform', '3-5-7')
        for epochs in (100, 200)
    },
    'da_table1.yaml': {
        'Tables 1-2: supervised ImageNet': 'test/pretrain-imagenet',
        'Tables 1-2: InfoMin 200': 'test/pretrain-infomin200',
        'Tables 1-2: InfoMin 800': 'test/pretrain-infomin800',
        'Tables 1-2: InfoMin 200 retrained': 'test-retrained/infomin-200',
        'Tables 1-2: InfoMin 800 retrained': 'test-retrained/infomin-800',
        'Tables 1-2: from scratch': 'test-scratch/default',
    },
    'da_table3.yaml': {
        f'Table 3: {size} images': f'test/size-{size}'
        for size in ('5k', '18k', '35k', '90k')
    },
    'da_fig1a_retrain_epochs.yaml': {
        f'Fig. 1a: {epoch} retraining epochs': f'test/epoch-{epoch}'
        for epoch in (20, 40, 60, 80, 100)
    },
    'da_fig1b_frozen_stages.yaml': {
        f'Fig. 1b: frozen {label}': f'test/frozen-{label}'
        for label in ('none', 'stem', '1', '2', '3', '4')
    },
}

#: grid -> {final run the reports do not have: why it is there}.
NOT_IN_THE_REPORTS = {
    'semi_norm.yaml': {
        'test/norm-gn-all': 'GN in backbone, FPN and box head (mmdet gn-all), '
        'beside the report\'s backbone-only GN',
        'test/norm-syncbn': 'SyncBN across GPUs; the report fine-tuned on '
        'one GPU',
    },
    'semi_lr_policy.yaml': {
        'test-scratch/default': 'the from-scratch reference of the policies',
    },
    'da_table3.yaml': {
        'test/size-67k': 'the train list, the data of da_table1\'s retrained '
        'rows, between 35k and ~90k',
    },
}

#: Report grids with no row of their own (see the grid file).
OTHER_GRIDS = {
    'demo.yaml': 'the CPU demo',
    'da_jigsaw.yaml': 'the retrained rows with InfoMin\'s jigsaw term '
    '(configs/infomin/README.md, "The jigsaw branch")',
}

#: The InfoMin weights each domain-adaptation grid starts from: Table 1 has
#: both, Table 3 and Figs. 1a/1b are InfoMin 200 experiments.
INFOMIN_WEIGHTS = {
    'da_table1.yaml': {'InfoMin_200.pth', 'InfoMin_800.pth'},
    'da_table3.yaml': {'InfoMin_200.pth'},
    'da_fig1a_retrain_epochs.yaml': {'InfoMin_200.pth'},
    'da_fig1b_frozen_stages.yaml': {'InfoMin_200.pth'},
}


@pytest.fixture(scope='module')
def dry_runs(repo_root, load_tool, tmp_path_factory):
    """grid -> (run names in order, printed commands) of its dry run."""
    sweep = load_tool('sweep.py')
    work_root = str(tmp_path_factory.mktemp('work'))
    out = {}
    cwd = os.getcwd()
    os.chdir(repo_root)
    try:
        for name in sorted(set(REPORT_POINTS) | set(OTHER_GRIDS)):
            text = io.StringIO()
            with contextlib.redirect_stdout(text):
                code = sweep.main([
                    osp.join('configs', 'grids', name), '--dry-run',
                    '--work-root', work_root
                ])
            assert code == 0, text.getvalue()[-2000:]
            lines = text.getvalue().splitlines()
            runs = [line[2:] for line in lines if line.startswith('# ')]
            commands = [line for line in lines if not line.startswith('#')]
            out[name] = (runs, '\n'.join(commands))
    finally:
        os.chdir(cwd)
    return out


def test_every_grid_is_accounted_for(repo_root):
    shipped = {
        osp.basename(p)
        for p in glob.glob(osp.join(repo_root, 'configs', 'grids', '*.yaml'))
    }
    assert shipped == set(REPORT_POINTS) | set(OTHER_GRIDS)


@pytest.mark.parametrize('grid', sorted(REPORT_POINTS))
def test_dry_run_lists_every_report_point(dry_runs, grid):
    runs, _ = dry_runs[grid]
    missing = {
        point: run
        for point, run in REPORT_POINTS[grid].items() if run not in runs
    }
    assert not missing, f'{grid} does not run {missing}; its runs: {runs}'
    assert len(runs) == len(set(runs))


@pytest.mark.parametrize('grid', sorted(REPORT_POINTS))
def test_every_final_run_is_a_report_point_or_explained(dry_runs, grid):
    runs, _ = dry_runs[grid]
    final = [r for r in runs if r.split('/')[0].startswith('test')]
    known = set(REPORT_POINTS[grid].values()) | set(
        NOT_IN_THE_REPORTS.get(grid, {}))
    assert sorted(set(final) - known) == []
    assert set(NOT_IN_THE_REPORTS.get(grid, {})) <= set(final)


@pytest.mark.parametrize('grid', sorted(INFOMIN_WEIGHTS))
def test_infomin_weights_of_each_experiment(dry_runs, grid):
    _, commands = dry_runs[grid]
    assert set(re.findall(r'InfoMin_\d+\.pth', commands)) == \
        INFOMIN_WEIGHTS[grid]


def test_fig1b_points_are_mmdet_frozen_stages(dry_runs):
    _, commands = dry_runs['da_fig1b_frozen_stages.yaml']
    values = re.findall(
        r'--work-dir \S+/finetune/frozen-(\S+) .*frozen_stages=(-?\d)',
        commands)
    assert values == [('none', '-1'), ('stem', '0'), ('1', '1'), ('2', '2'),
                      ('3', '3'), ('4', '4')]


def test_semi_fine_tuning_norm_is_the_reports(dry_runs):
    """Table 1, box heads and lr policies fine-tune with the NYU family's
    root norm (fully frozen BN, tests/configs); no grid overrides it."""
    for grid in ('semi_table1.yaml', 'semi_box_head.yaml',
                 'semi_lr_policy.yaml'):
        _, commands = dry_runs[grid]
        assert 'norm_cfg' not in commands and 'norm_eval' not in commands
