"""tools/demo.py: the demo grid's seeds, commands and data checks (dry
runs, no training), and a smoke run of the whole pipeline on a tiny set."""
import inspect
import json
import os
import os.path as osp

import pytest

from ssdet.analysis import demo as demo_module
from ssdet.data import synthetic

TINY = dict(num_unlabeled=2, num_train=2, num_val=1, num_test=1, size=(64, 80))
TINY_SIZES = dict(unlabeled=2, train=2, val=1, test=1)


@pytest.fixture
def demo(monkeypatch):
    """ssdet.analysis.demo, expecting the split sizes of TINY."""
    monkeypatch.setattr(demo_module, 'DATA_SIZES', dict(TINY_SIZES))
    return demo_module


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('demo') / 'synthetic')
    synthetic.generate(out, seed=0, **TINY)
    return out


def run_demo(load_tool, capsys, monkeypatch, repo_root, *args):
    """tools/demo.py in this process (its runs are subprocesses)."""
    monkeypatch.chdir(repo_root)  # the demo runs from the repository root
    code = load_tool('demo.py').main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_current_data_is_accepted(demo, data):
    assert demo.stale_data(data) is None


def test_data_of_other_split_sizes_is_refused(demo, data):
    # e.g. data made before val/test grew from 100 to 300 images
    demo.DATA_SIZES['test'] = 300
    problem = demo.stale_data(data)
    assert problem is not None and 'split sizes' in problem
    assert "'test': 1" in problem and "'test': 300" in problem


def test_demo_data_sizes_are_the_generator_defaults(load_tool):
    # the grid runs make_synthetic.py without size options, and
    # `make_synthetic.py --out DATA --force` (the fix the demo prints) must
    # rewrite the demo's data with the sizes the demo expects
    sizes = demo_module.DATA_SIZES
    assert sizes == synthetic.DEFAULT_SPLIT_SIZES
    defaults = inspect.signature(synthetic.generate).parameters
    assert sizes == {s: defaults[f'num_{s}'].default for s in sizes}
    args = load_tool('dataset_converters',
                     'make_synthetic.py').parse_args(['--out', 'x'])
    assert sizes == {s: getattr(args, f'num_{s}') for s in sizes}
    assert tuple(args.size) == defaults['size'].default == (192, 256)
    grid = demo_module.load_demo_grid([0], 'data/synthetic', 'wd/demo')
    argv = grid.stage('data').argv
    assert argv[1] == 'tools/dataset_converters/make_synthetic.py'
    assert not [a for a in argv if a.startswith('--num') or a == '--size']


def test_data_of_other_generator_settings_is_refused(demo, data,
                                                     monkeypatch):
    monkeypatch.setattr(synthetic, 'SCENE_CLASSES', 2)
    problem = demo.stale_data(data)
    assert problem is not None and 'SCENE_CLASSES' in problem
    assert data in problem


@pytest.mark.parametrize('name, value', [
    ('GENERATOR_VERSION', -1),
    ('DISTRACTOR_SPECS', (('disc', ('flat', )), )),
])
def test_data_of_another_generator_version_or_specs_is_refused(
        demo, data, monkeypatch, name, value):
    monkeypatch.setattr(synthetic, name, value)
    problem = demo.stale_data(data)
    assert problem is not None and name in problem


def test_data_without_recorded_settings_is_refused(demo, data, tmp_path):
    old = str(tmp_path / 'old')
    os.makedirs(osp.join(old, 'annotations'))
    open(osp.join(old, 'annotations', 'test.json'), 'w').close()
    with open(osp.join(data, 'summary.json')) as f:
        summary = json.load(f)
    summary.pop('knobs')
    with open(osp.join(old, 'summary.json'), 'w') as f:
        json.dump(summary, f)
    problem = demo.stale_data(old)
    assert 'NOISE_SIGMA' in problem and 'SCENE_CLASSES' in problem
    os.remove(osp.join(old, 'summary.json'))
    assert 'summary.json is missing' in demo.stale_data(old)


def test_data_without_test_split_is_refused(demo, tmp_path):
    old = str(tmp_path / 'no_test')
    synthetic.generate(old, seed=0, **dict(TINY, num_test=0))
    assert 'no annotations/test.json' in demo.stale_data(old)


def test_dry_run_lists_the_stages_for_each_seed(load_tool, capsys,
                                                monkeypatch, repo_root,
                                                tmp_path):
    data, work = str(tmp_path / 'synthetic'), str(tmp_path / 'demo')
    code, out = run_demo(load_tool, capsys, monkeypatch, repo_root,
                         '--seeds', '0', '1', '--data', data, '--work-dir',
                         work, '--dry-run')
    assert code == 0, out
    runs = [line[2:] for line in out.splitlines() if line.startswith('# ')]
    assert runs == [  # the whole demo of each seed, in turn
        f'{stage}/seed-{seed}{backbone}' for seed in (0, 1)
        for stage, backbones in (('data', ['']), ('pretrain', ['']),
                                 ('finetune', ['_backbone-random',
                                               '_backbone-swav']),
                                 ('test', ['_backbone-random',
                                           '_backbone-swav']))
        for backbone in backbones
    ]
    commands = dict(zip(runs, [
        line for line in out.splitlines()
        if line and not line.startswith(('# ', 'grid '))
    ]))
    # each seed its own data (seed 0 the --data folder), split and seed
    assert f'--out {data} --seed 0' in commands['data/seed-0']
    assert f'--out {data}-seed1 --seed 1' in commands['data/seed-1']
    pretrain = commands['pretrain/seed-1']
    assert 'configs/demo/swav_resnet18-w32_' in pretrain
    assert f'data_root={data}-seed1/unlabeled/' in pretrain
    assert 'randomness.seed=1' in pretrain
    swav = commands['finetune/seed-1_backbone-swav']
    assert 'faster-rcnn_r18-w32_fpn_synthetic_swav.py' in swav
    assert (f'model.backbone.init_cfg.checkpoint=$(cat {work}/pretrain/'
            'seed-1/last_checkpoint)') in swav
    assert f'val_evaluator.ann_file={data}-seed1/annotations/val.json' in swav
    random = commands['finetune/seed-0_backbone-random']
    assert 'faster-rcnn_r18-w32_fpn_synthetic.py' in random
    assert 'init_cfg.checkpoint' not in random
    test = commands['test/seed-1_backbone-swav']
    assert ('test_dataloader.dataset.ann_file=annotations/test.json'
            in test)
    assert f'test_evaluator.ann_file={data}-seed1/annotations/test.json' \
        in test
    assert f'--out {work}/test/seed-1_backbone-swav/predictions.pkl' in test
    assert not os.listdir(tmp_path)  # a dry run writes nothing


def test_stale_data_stops_the_demo_with_the_fix(demo, data, load_tool,
                                                capsys, monkeypatch,
                                                repo_root, tmp_path):
    demo.DATA_SIZES['test'] = 300
    code, out = run_demo(load_tool, capsys, monkeypatch, repo_root, '--data',
                         data, '--work-dir', str(tmp_path / 'demo'))
    assert code == 2
    assert 'split sizes' in out
    assert f'make_synthetic.py --out {data} --seed 0 --force' in out


def test_demo_backbone_transfers_between_its_configs(repo_root):
    # the demo pretrains and fine-tunes a half-width ResNet-18: the SwAV
    # config and both detector configs must build the same backbone, or
    # the pretrained run fails at load time after the SwAV minutes
    from mmdet.registry import MODELS as DET_MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmselfsup.registry import MODELS as SSL_MODELS

    grid = demo_module.load_demo_grid([0], 'data/synthetic', 'wd/demo',
                                      osp.join(repo_root,
                                               demo_module.GRID_FILE))
    backbones = grid.stage('finetune').axes['backbone'].values
    cfgs = {
        name: Config.fromfile(osp.join(repo_root, path))
        for name, path in (('swav', grid.stage('pretrain').config),
                           ('scratch', backbones['random'].config),
                           ('pretrained', backbones['swav'].config))
    }
    for cfg in cfgs.values():
        assert cfg.model.backbone.depth == 18
        assert cfg.model.backbone.base_channels == 32
    assert cfgs['pretrained'].model.backbone.init_cfg.type == \
        'VerifiedPretrained'
    assert cfgs['scratch'].model.backbone.init_cfg is None
    init_default_scope('mmselfsup')
    swav = SSL_MODELS.build(cfgs['swav'].model.backbone).state_dict()
    init_default_scope('mmdet')
    cfgs['pretrained'].model.backbone.init_cfg = None
    for name in ('scratch', 'pretrained'):
        detector = DET_MODELS.build(cfgs[name].model)
        backbone = detector.backbone.state_dict()
        assert {k: v.shape for k, v in backbone.items()} == \
            {k: v.shape for k, v in swav.items()}, name
        # the FPN takes the stages the half-width backbone gives
        widths = [layer[-1].conv2.out_channels
                  for layer in (detector.backbone.layer1,
                                detector.backbone.layer2,
                                detector.backbone.layer3,
                                detector.backbone.layer4)]
        assert widths == [32, 64, 128, 256]
        assert cfgs[name].model.neck.in_channels == widths


@pytest.mark.slow
def test_demo_smoke_run(load_tool, capsys, monkeypatch, repo_root,
                        tmp_path):
    """The whole demo, one epoch each on a tiny set: runs, report, and a
    second call that finds every run done."""
    sizes = dict(unlabeled=32, train=4, val=2, test=2)
    monkeypatch.setattr(demo_module, 'DATA_SIZES', sizes)
    data, work = str(tmp_path / 'synthetic'), str(tmp_path / 'demo')
    counts = {f'num_{split}': n for split, n in sizes.items()}
    synthetic.generate(data, seed=0, size=(64, 80), **counts)
    args = ('--data', data, '--work-dir', work, '--jobs', '2',
            '--cfg-options', 'train_cfg.max_epochs=1')
    code, out = run_demo(load_tool, capsys, monkeypatch, repo_root, *args)
    assert code == 0, out[-4000:]
    assert f'using existing {data}' in out
    report = open(osp.join(work, 'results.md')).read()
    for row in ('| random init |', '| SwAV ', '| difference  |'):
        assert row in report
    assert 'Paired bootstrap' in report
    assert '- CPU: ' in report and '- torch threads: ' in report
    assert 'mmdet 3.3.0' in report
    for plot in ('swav_loss.png', 'finetune_loss.png', 'per_class_ap.png'):
        assert osp.isfile(osp.join(work, 'plots', plot))
        assert f'](plots/{plot})' in report
    for backbone in ('random', 'swav'):
        test = osp.join(work, 'test', f'seed-0_backbone-{backbone}')
        assert osp.isfile(osp.join(test, 'metrics.json'))
        assert osp.isfile(osp.join(test, 'predictions.pkl'))
    swav = json.load(open(osp.join(work, 'finetune/seed-0_backbone-swav',
                                   '.done')))
    pretrain = json.load(open(osp.join(work, 'pretrain/seed-0/.done')))
    assert (f'model.backbone.init_cfg.checkpoint={pretrain["artifact"]}'
            in swav['command'])

    code, out = run_demo(load_tool, capsys, monkeypatch, repo_root, *args)
    assert code == 0, out[-4000:]
    assert out.count('done before, skipped') == 6


def test_runs_side_by_side_with_passive_openmp_threads(load_tool,
                                                       monkeypatch):
    tool = load_tool('demo.py')
    assert tool.parse_args([]).jobs == 2
    calls = []
    monkeypatch.setattr(tool, 'subprocess_executor',
                        lambda cmd, env, log, show: calls.append(env) or 0)
    monkeypatch.delenv('OMP_WAIT_POLICY', raising=False)
    assert tool.executor(['true'], {'PYTHON': 'py'}, 'log') == 0
    assert calls[-1] == {'PYTHON': 'py', 'OMP_WAIT_POLICY': 'PASSIVE'}
    monkeypatch.setenv('OMP_WAIT_POLICY', 'ACTIVE')  # the user's is kept
    tool.executor(['true'], {}, 'log')
    assert calls[-1] == {'OMP_WAIT_POLICY': 'ACTIVE'}
