"""tools/demo.py's checks that run without training (the demo itself is
run by `make demo`)."""
import inspect
import json
import os
import os.path as osp

import pytest

from ssdet.data import synthetic

TINY = dict(num_unlabeled=2, num_train=2, num_val=1, num_test=1, size=(64, 80))
TINY_SIZES = dict(unlabeled=2, train=2, val=1, test=1)


@pytest.fixture
def demo(load_tool, monkeypatch):
    """tools/demo.py, expecting the split sizes of TINY."""
    module = load_tool('demo.py')
    monkeypatch.setattr(module, 'DATA_SIZES', dict(TINY_SIZES))
    return module


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('demo') / 'synthetic')
    synthetic.generate(out, seed=0, **TINY)
    return out


def test_current_data_is_accepted(demo, data):
    assert demo.stale_data(data) is None


def test_data_of_other_split_sizes_is_refused(demo, data):
    # e.g. data made before val/test grew from 100 to 300 images
    demo.DATA_SIZES['test'] = 300
    problem = demo.stale_data(data)
    assert problem is not None and 'split sizes' in problem
    assert "'test': 1" in problem and "'test': 300" in problem


def test_demo_data_sizes_are_the_generator_defaults(load_tool):
    # `make_synthetic.py --out DATA --force` (the fix the demo prints) must
    # rewrite the demo's data with the sizes the demo expects
    sizes = load_tool('demo.py').DATA_SIZES
    assert sizes == synthetic.DEFAULT_SPLIT_SIZES
    defaults = inspect.signature(synthetic.generate).parameters
    assert sizes == {s: defaults[f'num_{s}'].default for s in sizes}
    args = load_tool('dataset_converters',
                     'make_synthetic.py').parse_args(['--out', 'x'])
    assert sizes == {s: getattr(args, f'num_{s}') for s in sizes}
    assert tuple(args.size) == defaults['size'].default == (192, 256)


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


def test_data_options_point_the_test_loop_at_a_split(demo):
    options = demo.data_options('some/data', 'test')
    assert 'test_dataloader.dataset.ann_file=annotations/test.json' in options
    assert ('test_evaluator.ann_file=some/data/annotations/test.json'
            in options)
    assert 'val_evaluator.ann_file=some/data/annotations/val.json' in options


def test_demo_backbone_transfers_between_its_configs(load_tool, repo_root):
    # the demo pretrains and fine-tunes a half-width ResNet-18: the SwAV
    # config and both detector configs must build the same backbone, or
    # the pretrained run fails at load time after the SwAV minutes
    from mmdet.registry import MODELS as DET_MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmselfsup.registry import MODELS as SSL_MODELS

    demo = load_tool('demo.py')
    cfgs = {
        name: Config.fromfile(osp.join(repo_root, path))
        for name, path in (('swav', demo.SWAV_CONFIG),
                           ('scratch', demo.SCRATCH_CONFIG),
                           ('pretrained', demo.PRETRAINED_CONFIG))
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
