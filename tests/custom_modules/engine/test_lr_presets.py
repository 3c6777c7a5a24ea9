"""The lr presets (configs/_base_/schedules/) and
TrainableOptimWrapperConstructor, on the demo's R18-FPN Faster R-CNN."""
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.optim import DefaultOptimWrapperConstructor, build_optim_wrapper
from mmengine.registry import init_default_scope

from custom_modules.engine.optimizers import (format_table, merge_param_groups,
                                              param_group_table)

BASE_LR = 5e-3


def load(repo_root, name, **options):
    path = osp.join(repo_root, 'configs', name)
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options)
    init_default_scope('mmdet')
    return cfg


def build(cfg):
    model = MODELS.build(cfg.model)
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def lr_of_name(model, optimizer):
    """{parameter name: lr} over the optimizer's groups."""
    names = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for group in optimizer.param_groups:
        for p in group['params']:
            assert names[id(p)] not in out, 'a parameter is in two groups'
            out[names[id(p)]] = group['lr']
    return out


def expected_3_5_7(name):
    """The preset's table: detector x1, stages 2-4 x1e-2, stem+stage 1
    x1e-4."""
    later_stages = ('backbone.layer2.', 'backbone.layer3.', 'backbone.layer4.')
    if name.startswith(later_stages):
        return BASE_LR * 1e-2
    if name.startswith('backbone.'):
        return BASE_LR * 1e-4
    assert name.startswith(('neck.', 'rpn_head.', 'roi_head.')), name
    return BASE_LR


def test_3_5_7_preset_three_groups(repo_root):
    cfg = load(repo_root, 'faster_rcnn/faster-rcnn_r18_fpn_lr-3-5-7_'
               'synthetic.py')
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=BASE_LR, momentum=0.9, weight_decay=5e-4)
    model, wrapper = build(cfg)
    groups = wrapper.optimizer.param_groups
    lrs = sorted({g['lr'] for g in groups})
    assert len(groups) == 3
    assert lrs == pytest.approx([BASE_LR * 1e-4, BASE_LR * 1e-2, BASE_LR])
    got = lr_of_name(model, wrapper.optimizer)
    # every trainable parameter, each with the lr of the table
    assert set(got) == {n for n, p in model.named_parameters()}
    for name, lr in got.items():
        assert lr == pytest.approx(expected_3_5_7(name)), name
    assert {g['weight_decay'] for g in groups} == {5e-4}
    assert {g['momentum'] for g in groups} == {0.9}
    # the stem and stage 1 group is exactly conv1, bn1, layer1
    stem = {n for n, lr in got.items() if lr < BASE_LR * 1e-3}
    assert {n.split('.')[1] for n in stem} == {'conv1', 'bn1', 'layer1'}


def test_3_5_7_res5_of_c4_is_a_backbone_stage(repo_root):
    cfg = load(repo_root, 'faster_rcnn/faster-rcnn_r18_c4-extra-norm_'
               'synthetic.py')
    preset = load(repo_root, '_base_/schedules/lr-3-5-7.py').lr_3_5_7
    cfg.optim_wrapper = preset
    model, wrapper = build(cfg)
    got = lr_of_name(model, wrapper.optimizer)
    assert got['roi_head.shared_head.layer4.0.conv1.weight'] == \
        pytest.approx(BASE_LR * 1e-2)
    assert got['roi_head.shared_head.bn_extra.weight'] == BASE_LR
    assert len({round(lr, 12) for lr in got.values()}) == 3


@pytest.mark.parametrize('frozen_stages', [-1, 0, 1, 2, 3, 4])
def test_frozen_stages_absent_from_optimizer(repo_root, frozen_stages):
    cfg = load(repo_root, 'demo/faster-rcnn_r18_fpn_synthetic_swav.py',
               **{'model.backbone.frozen_stages': frozen_stages})
    model, wrapper = build(cfg)
    frozen_modules = (['conv1', 'bn1'] if frozen_stages >= 0 else
                      []) + [f'layer{i}' for i in range(1, frozen_stages + 1)]
    for name, p in model.named_parameters():
        top = name.split('.')[1] if name.startswith('backbone.') else None
        assert p.requires_grad == (top not in frozen_modules), name
    got = lr_of_name(model, wrapper.optimizer)
    assert set(got) == {
        n
        for n, p in model.named_parameters() if p.requires_grad
    }
    assert len(wrapper.optimizer.param_groups) == 1  # one uniform lr


def test_frozen_backbone_variant(repo_root):
    cfg = load(repo_root,
               'faster_rcnn/faster-rcnn_r18-frozen_fpn_synthetic.py')
    model, wrapper = build(cfg)
    got = lr_of_name(model, wrapper.optimizer)
    assert got and not any(n.startswith('backbone.') for n in got)
    assert not any(p.requires_grad for p in model.backbone.parameters())


def test_upstream_default_constructor_keeps_frozen_params():
    """Why the constructor exists: mmengine 0.10.7 hands frozen parameters
    to the optimizer when no paramwise_cfg is given."""
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    model[0].requires_grad_(False)
    default = DefaultOptimWrapperConstructor(
        dict(optimizer=dict(type='SGD', lr=0.1)))(
            model)
    ours = build_optim_wrapper(
        model,
        dict(
            constructor='TrainableOptimWrapperConstructor',
            optimizer=dict(type='SGD', lr=0.1)))
    count = sum(len(g['params']) for g in default.optimizer.param_groups)
    assert count == 4
    assert [len(g['params']) for g in ours.optimizer.param_groups] == [2]


def test_merge_and_table():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    a, b, c, d = model.parameters()
    groups = merge_param_groups([
        dict(params=[a], lr=1.0),
        dict(params=[c], lr=0.5),
        dict(params=[b], lr=1.0),
        dict(params=[d], lr=0.5, weight_decay=0.1),
    ])
    assert [(len(g['params']), g['lr'])
            for g in groups] == [(2, 1.0), (1, 0.5), (1, 0.5)]
    rows = param_group_table(groups, model, dict(weight_decay=0.01))
    assert rows[0]['names'] == ['0.bias', '0.weight']
    assert [r['weight_decay'] for r in rows] == [0.01, 0.01, 0.1]
    text = format_table(rows, frozen=['x.weight'])
    header = [c.strip() for c in text.splitlines()[1].strip('|').split('|')]
    assert header == ['group', '#params', 'lr', 'weight_decay', 'members']
    assert '1.00e+00' in text and 'frozen' in text
