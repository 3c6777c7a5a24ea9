"""Every Faster R-CNN variant loads and builds; the backbone norm variants
behave as named during real training steps."""
import glob
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from torch.nn.modules.batchnorm import _BatchNorm

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VARIANTS = sorted(
    glob.glob(osp.join(REPO, 'configs', 'faster_rcnn', '*.py')) + [
        osp.join(REPO, 'configs', 'demo',
                 'faster-rcnn_r18_fpn_synthetic_swav.py')
    ])

#: Backbone norm settings each norm variant must have: (norm type,
#: requires_grad, norm_eval).
NORMS = {
    'bn': ('BN', True, False),
    'frozen-bn': ('BN', False, True),
    'frozen-affine': ('BN', False, False),
    'syncbn': ('SyncBN', True, False),
    'gn': ('GN', True, False),
    'frozen': ('BN', False, True),
}


def backbone_tag(name):
    """'faster-rcnn_r18-frozen-bn_fpn_synthetic.py' -> 'frozen-bn'."""
    component = name.split('_')[1]
    return component.split('-', 1)[1] if '-' in component else ''


def dataset_base(path):
    """The data set base config a variant needs (owned elsewhere)."""
    data = 'nyu_detection' if path.endswith('_nyu.py') else \
        'synthetic_detection'
    return osp.join(REPO, 'configs', '_base_', 'datasets', data + '.py')


def load(path):
    if not osp.isfile(dataset_base(path)):
        pytest.skip(f'{osp.relpath(dataset_base(path), REPO)} is not '
                    'written yet')
    cfg = Config.fromfile(path)
    init_default_scope('mmdet')
    return cfg


@pytest.mark.parametrize('path', VARIANTS, ids=osp.basename)
def test_variant_loads_and_builds(path):
    cfg = load(path)
    assert cfg.custom_imports['imports'] == ['custom_modules']
    model = MODELS.build(cfg.model)
    backbone = cfg.model.backbone
    # the transfer cannot fail silently: verified loading + consistency check
    if 'scratch' not in path:
        assert backbone.init_cfg.type == 'VerifiedPretrained'
        assert backbone.init_cfg.prefix == 'backbone.'
        assert 'TransferCheckHook' in [h.type for h in cfg.custom_hooks]
    assert cfg.optim_wrapper.constructor == 'TrainableOptimWrapperConstructor'
    # metrics: COCO AP family per class, best checkpoint by AP50
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        assert evaluator.type == 'CocoMetric' and evaluator.classwise
    assert cfg.default_hooks.checkpoint.save_best == 'coco/bbox_mAP_50'
    assert cfg.default_hooks.checkpoint.rule == 'greater'
    # the norm variants
    name = osp.basename(path)
    tag = backbone_tag(name)
    if tag:
        norm, requires_grad, norm_eval = NORMS[tag]
        assert backbone.norm_cfg.type == norm
        assert backbone.norm_cfg.requires_grad == requires_grad
        assert backbone.norm_eval == norm_eval
    if tag == 'gn':  # the report's: the backbone only
        assert 'norm_cfg' not in cfg.model.neck
        assert type(model.roi_head.bbox_head).__name__ == 'Shared2FCBBoxHead'
    if 'gn-all' in name:
        assert backbone.norm_cfg.type == 'GN'
        assert cfg.model.neck.norm_cfg.type == 'GN'
        assert cfg.model.roi_head.bbox_head.norm_cfg.type == 'GN'
    if tag == 'frozen':
        assert backbone.frozen_stages == 4
    if 'shared2fc-ln' in name:
        assert type(model.roi_head.bbox_head).__name__ == \
            'Shared2FCBBoxHeadLN'
        assert len(model.roi_head.bbox_head.shared_lns) == 2
    if 'c4-extra-norm' in name:
        assert type(model.roi_head.shared_head).__name__ == \
            'ResLayerWithExtraNorm'
        assert cfg.model.roi_head.shared_head.init_cfg.type == \
            'VerifiedPretrained'
    if 'lr-3-5-7' in name:
        custom = cfg.optim_wrapper.paramwise_cfg.custom_keys
        assert custom['backbone'].lr_mult == 1e-4
        assert custom['backbone.layer2'].lr_mult == 1e-2


NYU = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_r50_fpn_1x_nyu.py')
NYU_VARIANTS = [p for p in VARIANTS if p.endswith('_nyu.py')]


@pytest.mark.parametrize('path', NYU_VARIANTS, ids=osp.basename)
def test_nyu_variants_fine_tune_as_the_report(path):
    """2 images a batch at lr 5e-3, the lr following the batch
    (auto_scale_lr, base 2) and logged; backbone BN fully frozen unless the
    variant is a norm variant or the scratch baseline."""
    cfg = load(path)
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.optim_wrapper.optimizer.lr == 5e-3
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=2)
    assert 'EffectiveBatchLrHook' in [h.type for h in cfg.custom_hooks]
    name = osp.basename(path)
    if not backbone_tag(name) and 'gn-all' not in name and \
            'scratch' not in name:
        assert cfg.model.backbone.norm_cfg == dict(
            type='BN', requires_grad=False)
        assert cfg.model.backbone.norm_eval is True


def test_frozen_bn_variant_is_the_root():
    """The report's code's FBN is the family default; the named variant
    restates it and changes nothing."""
    variant = load(NYU.replace('r50_fpn', 'r50-frozen-bn_fpn'))
    assert variant.model == load(NYU).model


def test_c4_res5_bn_is_frozen_like_the_backbone():
    cfg = load(NYU.replace('fpn_1x', 'c4-extra-norm_1x'))
    model = MODELS.build(cfg.model)
    res5 = model.roi_head.shared_head
    bns = [m for n, m in res5.named_modules()
           if isinstance(m, _BatchNorm) and m is not res5.extra_norm]
    assert bns and not any(p.requires_grad for m in bns
                           for p in m.parameters())
    assert all(p.requires_grad for p in res5.extra_norm.parameters())


def test_bottleneck_gn_head():
    """The code's "res head": GN bottlenecks on the FPN's 7x7 RoI
    features, average pooling, linear predictors."""
    from mmdet.models.backbones.resnet import Bottleneck
    cfg = load(NYU.replace('fpn_1x', 'fpn_bottleneck-gn_1x'))
    model = MODELS.build(cfg.model)
    blocks = list(model.roi_head.shared_head.layer2)
    assert len(blocks) == 4 and all(isinstance(b, Bottleneck) for b in blocks)
    norms = [m for m in model.roi_head.shared_head.modules()
             if isinstance(m, (torch.nn.GroupNorm, _BatchNorm))]
    assert norms and all(isinstance(m, torch.nn.GroupNorm) for m in norms)
    assert blocks[0].conv1.in_channels == cfg.model.neck.out_channels == 256
    head = model.roi_head.bbox_head
    assert head.with_avg_pool and head.fc_cls.in_features == 512
    assert head.fc_cls.out_features == 101
    rois = torch.randn(3, 256, 7, 7)  # 3 RoIs of the FPN
    cls_score, bbox_pred = head(model.roi_head.shared_head(rois))
    assert cls_score.shape == (3, 101) and bbox_pred.shape == (3, 400)


def test_nyu_family_is_mmdet_faster_rcnn():
    cfg = load(
        osp.join(REPO, 'configs', 'faster_rcnn',
                 'faster-rcnn_r50_fpn_1x_nyu.py'))
    assert cfg.model.backbone.depth == 50
    assert cfg.train_dataloader.dataset.data_root == 'data/nyu/'
    assert cfg.model.roi_head.bbox_head.num_classes == len(
        cfg.train_dataloader.dataset.metainfo['classes'])


# -- backbone norm modes during real training steps -------------------------


def train_two_steps(variant):
    path = osp.join(REPO, 'configs', 'faster_rcnn', variant)
    cfg = load(path)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights = None  # no checkpoint here: random weights
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    bns = {
        n: m
        for n, m in model.backbone.named_modules()
        if isinstance(m, _BatchNorm)
    }
    before = {
        n: [t.detach().clone() for t in (m.weight, m.bias, m.running_mean)]
        for n, m in bns.items()
    }
    conv = model.backbone.layer2[0].conv1.weight.detach().clone()
    model.train()
    for _ in range(2):  # one 64 x 96 image with two boxes
        model.train_step(
            demo_mm_inputs(1, [(3, 64, 96)], num_items=[2], num_classes=3),
            wrapper)
    # the convolutions of the backbone did train
    assert not torch.equal(conv, model.backbone.layer2[0].conv1.weight)
    return model, bns, before


def test_frozen_bn_stays_frozen_in_training():
    model, bns, before = train_two_steps(
        'faster-rcnn_r18-frozen-bn_fpn_synthetic.py')
    assert len(bns) == 20
    for name, bn in bns.items():
        assert not bn.training, name
        assert not bn.weight.requires_grad and not bn.bias.requires_grad
        for old, new in zip(before[name],
                            (bn.weight, bn.bias, bn.running_mean)):
            torch.testing.assert_close(old, new)


def test_frozen_affine_updates_statistics_only():
    _, bns, before = train_two_steps(
        'faster-rcnn_r18-frozen-affine_fpn_synthetic.py')
    for name, bn in bns.items():
        assert bn.training, name
        assert not bn.weight.requires_grad and not bn.bias.requires_grad
        torch.testing.assert_close(before[name][0], bn.weight)
        torch.testing.assert_close(before[name][1], bn.bias)
        assert not torch.equal(before[name][2], bn.running_mean), name


def test_bn_trains_affine_and_statistics():
    _, bns, before = train_two_steps('faster-rcnn_r18-bn_fpn_synthetic.py')
    bn = bns['layer2.0.bn1']
    assert bn.training and bn.weight.requires_grad
    assert not torch.equal(before['layer2.0.bn1'][0], bn.weight)
    assert not torch.equal(before['layer2.0.bn1'][2], bn.running_mean)


def test_demo_detectors_share_their_budget():
    """The demo compares SwAV with random initialisation: the two configs
    `make demo` fine-tunes may differ only in how the backbone starts."""
    demo = osp.join(REPO, 'configs', 'demo')
    scratch = load(osp.join(demo, 'faster-rcnn_r18-w32_fpn_synthetic.py'))
    swav = load(osp.join(demo, 'faster-rcnn_r18-w32_fpn_synthetic_swav.py'))
    differ = sorted(k for k in set(scratch) | set(swav)
                    if scratch.get(k) != swav.get(k))
    # the optimizer constructor leaves out what the backbone freezes (none
    # here) and the hook checks the checkpoint against the pretraining
    assert differ == ['custom_hooks', 'model', 'optim_wrapper']
    assert swav.optim_wrapper.optimizer == scratch.optim_wrapper.optimizer
    scratch.model.backbone.pop('init_cfg')
    assert swav.model.backbone.pop('init_cfg').type == 'VerifiedPretrained'
    assert swav.model == scratch.model
    assert scratch.train_cfg.max_epochs == 8
    assert scratch.param_scheduler[1].milestones == [5, 7]
