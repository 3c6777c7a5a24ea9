"""The grid schema (pydantic) and the grid's runs: validation errors
naming file and key, expansion, naming, placeholders."""
import glob
import os.path as osp

import pytest
import yaml

from ssdet.sweep.grid import GridError, expand, load_grid, parse_grid, render
from ssdet.sweep.schema import format_label, format_option

BASE = dict(
    name='g',
    inputs=dict(weights='ckpts/swav.pth'),
    stages=[
        dict(
            name='pretrain',
            kind='train',
            config='configs/swav/a.py',
            axes=dict(
                backbone=dict(
                    values={
                        'r18-70e': dict(cfg_options={
                            'model.backbone.depth': 18
                        }),
                        'r50-200e': dict(cfg_options={
                            'model.backbone.depth': 50
                        }),
                    }))),
        dict(
            name='finetune',
            kind='train',
            after='pretrain',
            config='configs/det.py',
            cfg_options={
                'model.backbone.init_cfg.checkpoint': '{pretrain.checkpoint}'
            },
            axes=dict(
                lr=dict(key='optim_wrapper.optimizer.lr', values=[0.01,
                                                                  0.02]))),
        dict(name='test', kind='test', after='finetune'),
    ])


def grid_with(**changes):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    for path, value in changes.items():
        node = data
        keys = path.split('__')
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[keys[-1]] = value
    return data


def test_expansion_and_names():
    grid = parse_grid(grid_with(), 'g.yaml', work_root='wd')
    runs = expand(grid)
    assert [r.key for r in runs] == [
        'pretrain/backbone-r18-70e', 'pretrain/backbone-r50-200e',
        'finetune/backbone-r18-70e_lr-0.01',
        'finetune/backbone-r18-70e_lr-0.02',
        'finetune/backbone-r50-200e_lr-0.01',
        'finetune/backbone-r50-200e_lr-0.02',
        'test/backbone-r18-70e_lr-0.01', 'test/backbone-r18-70e_lr-0.02',
        'test/backbone-r50-200e_lr-0.01', 'test/backbone-r50-200e_lr-0.02'
    ]
    assert runs[2].work_dir == osp.join('wd', 'g', 'finetune',
                                        'backbone-r18-70e_lr-0.01')
    assert runs[2].upstream is runs[0]
    assert runs[9].find('pretrain') is runs[1]
    assert [r.order for r in runs] == list(range(10))
    # a test stage after a train stage tests its config and checkpoint
    test = grid.stage('test')
    assert test.config == '{finetune.config}'
    assert test.checkpoint == '{finetune.checkpoint}'
    assert test.inherits_options
    # a value's `key` sets that config option
    assert runs[3].choices['lr'][1].cfg_options == {
        'optim_wrapper.optimizer.lr': 0.02
    }


def test_default_name_and_grid_name_from_file():
    data = dict(stages=[dict(name='t', kind='train', config='c.py')])
    grid = parse_grid(data, 'configs/grids/my_grid.yaml')
    assert grid.name == 'my_grid'
    assert expand(grid)[0].work_dir == osp.join('work_dirs', 'my_grid', 't',
                                                'default')


def test_labels_and_options():
    assert format_label(0.02) == '0.02'
    assert format_label(1e-4) == '0.0001'
    assert format_label(True) == 'true'
    assert format_label(-1) == '-1'
    assert format_option([1, 2]) == '[1,2]'
    assert format_option((128, 96)) == '(128,96)'
    assert format_option(None) == 'None'
    with pytest.raises(TypeError, match='dotted name'):
        format_option({'a': 1})


def test_render_placeholders():
    values = {'a': 'x', 'b.c': 'y'}
    assert render('{a}/{b.c}_{{lit}}', values.__getitem__) == 'x/y_{lit}'


@pytest.mark.parametrize(
    'changes, key, message',
    [
        (dict(stages=[]), 'stages', 'at least 1 item'),
        (dict(stages__1__kind='fit'), 'stages[1] (finetune).kind', "'fit'"),
        (dict(stages__1__after='nope'), 'stages[1] (finetune).after',
         'not an earlier stage'),
        (dict(stages__1__optimizer=1), 'stages[1] (finetune).optimizer',
         'Extra inputs are not permitted'),
        (dict(stages__1__axes={'lr_policy': [1]}),
         'stages[1] (finetune).axes.lr_policy', 'letters and digits'),
        (dict(stages__1__axes={'backbone': [1]}),
         'stages[1] (finetune).axes.backbone', 'already varies'),
        (dict(stages__1__axes={'lr': dict(values=[])}),
         'stages[1] (finetune).axes.lr.values', 'non-empty'),
        (dict(stages__1__axes={'lr': dict(values=['a_b'])}),
         'stages[1] (finetune).axes.lr.values.a_b', 'directory name'),
        (dict(stages__1__axes={'lr': dict(values=[1, 1])}),
         'stages[1] (finetune).axes.lr.values', 'twice'),
        (dict(stages__1__axes={'lr': dict(values={'a': 0.1})}),
         'stages[1] (finetune).axes.lr.values', 'give the axis a `key`'),
        (dict(stages__1__cfg_options={'x': '{swav.checkpoint}'}),
         'stages[1] (finetune).cfg_options.x', "'swav' is not an earlier"),
        (dict(stages__1__cfg_options={'x': '{pretrain.ckpt}'}),
         'stages[1] (finetune).cfg_options.x', 'unknown attribute'),
        (dict(stages__1__cfg_options={'x': '{inputs.other}'}),
         'stages[1] (finetune).cfg_options.x', "no input 'other'"),
        (dict(stages__1__cfg_options={'x': '{epoch}'}),
         'stages[1] (finetune).cfg_options.x', 'neither an axis'),
        (dict(stages__1__cfg_options={'x': {'a': 1}}),
         'stages[1] (finetune).cfg_options.x', 'dotted name'),
        (dict(stages__1__cfg_options={'x': 'a}b'}),
         'stages[1] (finetune).cfg_options.x', 'unbalanced brace'),
        (dict(stages__0__config=None), 'stages[0] (pretrain)',
         'needs `config`'),
        (dict(stages__0__config=5), 'stages[0] (pretrain).config',
         'valid string'),
        (dict(stages__2__dump='yes'), 'stages[2] (test).dump',
         'valid boolean'),
        (dict(stages__2__name='work_dir'), 'stages[2] (work_dir).name',
         'reserved'),
        (dict(inputs={'w': '/abs/w.pth'}), 'inputs', 'absolute'),
        (dict(name='a b'), 'name', 'directory name'),
    ])
def test_validation_errors_name_file_and_key(changes, key, message):
    with pytest.raises(GridError) as e:
        parse_grid(grid_with(**changes), 'grids/x.yaml')
    text = str(e.value)
    assert text.startswith(f'grids/x.yaml: {key}:'), text
    assert message in text


def test_every_schema_error_is_reported():
    data = grid_with(stages__0__config=5, stages__2__dump='yes')
    with pytest.raises(GridError) as e:
        parse_grid(data, 'grids/x.yaml')
    lines = str(e.value).splitlines()
    assert [line.split(':')[1].strip() for line in lines] == [
        'stages[0] (pretrain).config', 'stages[2] (test).dump'
    ]


def test_missing_required_keys():
    data = dict(stages=[dict(name='t', kind='train')])
    with pytest.raises(GridError, match=r'stages\[0\] \(t\): .*`config`'):
        parse_grid(data, 'x.yaml')
    data = dict(stages=[dict(name='t', kind='test', config='c.py')])
    with pytest.raises(GridError, match='needs `checkpoint`'):
        parse_grid(data, 'x.yaml')
    data = dict(stages=[dict(name='c', kind='command', argv=['ls'])])
    with pytest.raises(GridError, match=r'stages\[0\] \(c\).artifact: Field '
                       'required'):
        parse_grid(data, 'x.yaml')


def test_yaml_syntax_error_names_file(tmp_path):
    path = tmp_path / 'bad.yaml'
    path.write_text('stages: [\n')
    with pytest.raises(GridError, match='bad.yaml: not valid YAML'):
        load_grid(str(path))


REPO = osp.join(osp.dirname(__file__), '..', '..', '..')


@pytest.mark.parametrize(
    'path', sorted(glob.glob(osp.join(REPO, 'configs', 'grids', '*.yaml'))))
def test_shipped_grids_are_valid(path):
    grid = load_grid(path)
    runs = expand(grid)
    assert runs
    names = [r.key for r in runs]
    assert len(names) == len(set(names))
    root = REPO
    for stage in grid.stages:
        configs = [getattr(stage, 'config', None)] + [
            v.config for a in stage.axes.values() for v in a.values.values()
        ]
        for config in configs:
            if config and '{' not in config:
                assert osp.isfile(osp.join(root, config)) or (
                    config.startswith('configs/infomin/')
                    or config.startswith('configs/kitti/')), config
