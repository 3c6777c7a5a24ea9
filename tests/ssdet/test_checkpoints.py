"""Round trips of the checkpoint converter with each source's real keys.

The sources are made from ``torchvision.models.resnet18`` (random init, no
download) wrapped like the releases: PyContrast's ``RGBMultiHeads`` (InfoMin:
mlp head + jigsaw head, DDP ``module.``, ``model_ema``, ``contrast``),
SwAV's ``ResNet`` (``projection_head`` Linear-BN-ReLU-Linear,
``prototypes``), a torchvision state dict, and a real mmselfsup ``MoCo``.
"""
import argparse
import os.path as osp
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
import torchvision

from custom_modules.compat.checkpoint import (UnsafeCheckpointError,
                                              load_checkpoint_file)
from ssdet import checkpoints as ck

FEAT_DIM = 128
QUEUE_LEN = 64


class _DDP(nn.Module):
    """Stands for DistributedDataParallel: adds the ``module.`` prefix."""

    def __init__(self, module):
        super().__init__()
        self.module = module


def _trunk(depth=18):
    torch.manual_seed(depth)
    net = getattr(torchvision.models, f'resnet{depth}')(weights=None)
    with torch.no_grad():  # distinct running stats, so mix-ups show
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.num_batches_tracked.fill_(7)
    return net


class _PyContrastJigsaw(nn.Module):
    """``networks/util.py:JigsawHead`` with ``head='mlp'``."""

    def __init__(self, dim_in, dim_out, k=9):
        super().__init__()
        self.fc1 = nn.Sequential(
            nn.Linear(dim_in, dim_in), nn.ReLU(), nn.Linear(dim_in, dim_out))
        self.fc2 = nn.Linear(dim_out * k, dim_out)


class _PyContrastModel(nn.Module):
    """``RGBMultiHeads(head='mlp')``: encoder (no fc), head, head_jig."""

    def __init__(self, depth=18):
        super().__init__()
        self.encoder = _trunk(depth)
        del self.encoder.fc  # PyContrast's ResNet has no fc
        dim = 512 if depth < 50 else 2048
        # nn.Sequential(Linear, ReLU, Linear, Normalize(2)); Normalize has
        # no parameters.
        self.head = nn.Sequential(
            nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, FEAT_DIM),
            nn.Identity())
        self.head_jig = _PyContrastJigsaw(dim, FEAT_DIM)


def pycontrast_checkpoint(depth=18, with_opt=False):
    """A ``ContrastTrainer.save`` dict of InfoMin (jigsaw, moco memory)."""
    model = _DDP(_PyContrastModel(depth))
    model_ema = _PyContrastModel(depth)
    # SGD with momentum buffers, as saved; over the head only, to stay small
    head = list(model.module.head.parameters())
    optimizer = torch.optim.SGD(head, lr=0.1, momentum=0.9)
    for p in head:
        p.grad = torch.zeros_like(p)
    optimizer.step()
    memory = nn.functional.normalize(torch.randn(QUEUE_LEN, FEAT_DIM))
    ckpt = {
        'model': model.state_dict(),
        'contrast': OrderedDict(memory=memory),
        'optimizer': optimizer.state_dict(),
        'epoch': 800,
        'model_ema': model_ema.state_dict(),
    }
    if with_opt:
        ckpt['opt'] = argparse.Namespace(
            method='InfoMin', arch=f'resnet{depth}', lr_decay_epochs=[120])
    return ckpt


class _SwAVResNet(nn.Module):
    """swav ``src/resnet50.py``: trunk + padding + projection head."""

    def __init__(self, depth=18, hidden=64, out=32, prototypes=30):
        super().__init__()
        net = _trunk(depth)
        for name in ('conv1', 'bn1', 'layer1', 'layer2', 'layer3', 'layer4'):
            setattr(self, name, getattr(net, name))
        self.padding = nn.ConstantPad2d(1, 0.0)
        dim = 512 if depth < 50 else 2048
        self.projection_head = nn.Sequential(
            nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, out))
        self.prototypes = nn.Linear(out, prototypes, bias=False)


def swav_checkpoint(depth=18):
    """``swav_800ep_pretrain.pth.tar``: the bare DDP state dict."""
    return _DDP(_SwAVResNet(depth)).state_dict()


def torchvision_checkpoint(depth=18):
    return _trunk(depth).state_dict()


def moco_model(depth=18):
    """mmselfsup 1.0's MoCo v2 (``_base_/models/mocov2.py``), small."""
    import mmselfsup
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmselfsup')
    from mmselfsup.registry import MODELS
    cfg = Config.fromfile(
        osp.join(
            osp.dirname(mmselfsup.__file__), '.mim', 'configs', 'selfsup',
            '_base_', 'models', 'mocov2.py'))
    dim = 512 if depth < 50 else 2048
    cfg.model.backbone.depth = depth
    cfg.model.neck.update(in_channels=dim, hid_channels=dim)
    cfg.model.queue_len = QUEUE_LEN
    return MODELS.build(cfg.model), cfg


def mmselfsup_checkpoint(depth=18):
    """An mmengine checkpoint of a MoCo run (meta, state_dict, hub)."""
    from mmengine.logging import MessageHub
    model, cfg = moco_model(depth)
    torch.manual_seed(1)
    with torch.no_grad():  # make online and momentum encoders differ
        for p in model.encoder_k.parameters():
            p.add_(torch.rand_like(p))
        model.encoder_k.steps.fill_(3)
        model.queue_ptr.fill_(16)
    hub = MessageHub.get_instance('test_checkpoints')
    hub.update_scalar('train/loss', 1.0)
    return {
        'meta': {
            'epoch': 200,
            'iter': 1000,
            'cfg': cfg.pretty_text,
            'mmengine_version': '0.10.7'
        },
        'state_dict': model.state_dict(),
        'message_hub': hub.state_dict(),
    }


class AverageMeter:
    """A non-tensor object that is on no allow-list."""

    def __init__(self):
        self.avg = 0.5


def _save(obj, path):
    torch.save(obj, path)
    return str(path)


def _tv_source(fmt, ckpt, encoder='online'):
    """The trunk the converter should produce, from the fixture itself."""
    if fmt == 'pycontrast':
        state = ckpt['model'] if encoder == 'online' else ckpt['model_ema']
        prefix = 'module.encoder.' if encoder == 'online' else 'encoder.'
    elif fmt == 'swav':
        state, prefix = ckpt, 'module.'
    elif fmt == 'torchvision':
        state, prefix = ckpt, ''
    else:
        state = ckpt['state_dict']
        prefix = 'backbone.' if encoder == 'online' else 'encoder_k.module.0.'
    return {
        k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
        and k[len(prefix):].split('.')[0] in ck.RESNET_ROOTS
    }


SOURCES = {
    'pycontrast': pycontrast_checkpoint,
    'swav': swav_checkpoint,
    'torchvision': torchvision_checkpoint,
    'mmselfsup': mmselfsup_checkpoint,
}


@pytest.fixture(scope='module')
def sources():
    return {name: make() for name, make in SOURCES.items()}


@pytest.fixture(scope='module')
def files(sources, tmp_path_factory):
    """Each source saved once, as ``<format>.pth``."""
    folder = tmp_path_factory.mktemp('sources')
    return {
        name: _save(ckpt, folder / f'{name}.pth')
        for name, ckpt in sources.items()
    }


# ---------------------------------------------------------------- key sets


@pytest.mark.parametrize('depth', [18, 34, 50, 101, 152])
def test_expected_keys_match_mmdet_resnet(depth):
    from mmdet.models.backbones import ResNet
    with torch.device('meta'):
        model = ResNet(depth=depth)
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert dict(ck.expected_resnet_keys(depth)) == want


@pytest.mark.parametrize('depth', [18, 50])
def test_detect_depth_on_torchvision(depth):
    with torch.device('meta'):
        state = getattr(torchvision.models, f'resnet{depth}')().state_dict()
    state = {k: v for k, v in state.items() if not k.startswith('fc.')}
    assert ck.detect_depth(state) == depth
    assert ck.verify_resnet_state_dict(state) == depth


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize('fmt', list(SOURCES))
def test_detect_format(sources, fmt):
    assert ck.detect_format(sources[fmt]) == fmt


def test_detect_format_training_checkpoints(sources):
    # swav's main_swav.py checkpoint.pth.tar and mmselfsup's extracted
    # backbone (extract_backbone_weights.py) keep the dict under state_dict
    swav_train = dict(epoch=3, state_dict=sources['swav'], optimizer={})
    assert ck.detect_format(swav_train) == 'swav'
    extracted = dict(state_dict=_tv_source('mmselfsup', sources['mmselfsup']))
    assert ck.detect_format(extracted) == 'torchvision'


def test_unknown_layout_names_file_and_keys():
    with pytest.raises(ck.CheckpointFormatError) as e:
        ck.detect_format({'net': {'foo.weight': torch.zeros(1)}}, 'x.pth')
    msg = str(e.value)
    assert 'x.pth' in msg and "'net'" in msg and 'unknown' in msg


@pytest.mark.parametrize('fmt', list(SOURCES))
@pytest.mark.parametrize('target', ck.TARGETS)
def test_round_trip(files, sources, tmp_path, fmt, target):
    src = files[fmt]
    dst = str(tmp_path / 'out.pth')
    summary = ck.convert(src, dst, src_format=fmt, target=target)
    out = load_checkpoint_file(dst)
    assert set(out) == {'meta', 'state_dict'}
    state = out['state_dict']
    want = _tv_source(fmt, sources[fmt])
    expected = ck.expected_resnet_keys(18)
    assert {k[9:] for k in state if k.startswith('backbone.')} == set(expected)
    for k, v in want.items():
        assert torch.equal(state['backbone.' + k], v), k
    assert summary['depth'] == 18
    assert summary['mapped']['online'] == len(want) == len(expected)
    if target == 'mmdet':
        assert set(state) == {'backbone.' + k for k in expected}
    else:
        momentum = {
            k[len(ck.MOCO_MOMENTUM_BACKBONE):]: v
            for k, v in state.items()
            if k.startswith(ck.MOCO_MOMENTUM_BACKBONE)
        }
        assert set(momentum) == set(expected)
        has_ema = fmt in ('pycontrast', 'mmselfsup')
        ema = _tv_source(fmt, sources[fmt], 'momentum') if has_ema else want
        for k, v in ema.items():
            assert torch.equal(momentum[k], v), k
        assert int(state['encoder_k.steps']) == int(has_ema)
    meta = out['meta']
    assert meta['src_format'] == fmt and meta['src_file'] == f'{fmt}.pth'
    assert meta['target'] == target and meta['arch']['depth'] == 18
    assert meta['pretrain_cfg']['mean'] == [123.675, 116.28, 103.53]
    # SwAV's MultiCropDataset normalises with std 0.228 (not 0.229) for R
    std_r = 58.14 if fmt == 'swav' else 58.395
    assert meta['pretrain_cfg']['std'] == [std_r, 57.12, 57.375]
    assert meta['pretrain_cfg']['bgr_to_rgb'] is True
    assert meta['pretrain_cfg']['stem'] == '7x7'


def test_pycontrast_heads_to_moco_neck_and_queue(files, sources, tmp_path):
    ckpt = sources['pycontrast']
    src = files['pycontrast']
    dst = str(tmp_path / 'moco.pth')
    summary = ck.convert(src, dst, target='mmselfsup-moco', keep_queue=True)
    state = load_checkpoint_file(dst)['state_dict']
    model, ema = ckpt['model'], ckpt['model_ema']
    for i in (0, 2):
        for p in ('weight', 'bias'):
            assert torch.equal(state[f'neck.mlp.{i}.{p}'],
                               model[f'module.head.{i}.{p}'])
            assert torch.equal(state[f'encoder_k.module.1.mlp.{i}.{p}'],
                               ema[f'head.{i}.{p}'])
    assert torch.equal(state['queue'], ckpt['contrast']['memory'].t())
    assert state['queue'].shape == (FEAT_DIM, QUEUE_LEN)
    assert summary['neck'].startswith('mapped')
    assert summary['dropped'] == {
        "model['module.head_jig.*']": 6,
        "model_ema['head_jig.*']": 6
    }
    assert summary['unused_entries'] == ['epoch', 'optimizer']
    assert summary['mapped'] == {'online': 120, 'momentum': 120}
    assert load_checkpoint_file(dst)['meta']['src_epoch'] == 800


def test_pycontrast_mmdet_drops_heads_and_ema(files, tmp_path):
    src = files['pycontrast']
    summary = ck.convert(src, str(tmp_path / 'o.pth'))
    assert summary['dropped'] == {
        "model['module.head_jig.*']": 6,
        "model_ema['head_jig.*']": 6,
        "model['module.head.*']": 4,
        "model_ema['head.*']": 4,
        "model_ema['encoder.*']": 120,
        "contrast['memory']": 1,
    }


def test_momentum_encoder_for_mmdet(files, sources, tmp_path):
    src = files['pycontrast']
    dst = str(tmp_path / 'o.pth')
    ck.convert(src, dst, encoder='momentum')
    state = load_checkpoint_file(dst)['state_dict']
    for k, v in _tv_source('pycontrast', sources['pycontrast'],
                           'momentum').items():
        assert torch.equal(state['backbone.' + k], v)
    src = files['swav']
    with pytest.raises(ck.CheckpointFormatError, match='no momentum'):
        ck.convert(src, str(tmp_path / 'o2.pth'), encoder='momentum')


def test_pycontrast_namespace_opt_is_read(sources, tmp_path):
    opt = argparse.Namespace(
        method='InfoMin', arch='resnet18', lr_decay_epochs=[120, 160])
    src = _save(dict(sources['pycontrast'], opt=opt), tmp_path / 'p.pth')
    summary = ck.convert(src, str(tmp_path / 'o.pth'))
    assert 'opt' in summary['unused_entries']


def test_swav_head_is_not_a_moco_neck(files, tmp_path):
    src = files['swav']
    summary = ck.convert(src, str(tmp_path / 'o.pth'), target='mmselfsup-moco')
    assert summary['neck'].startswith('left to init')
    assert summary['dropped'] == {
        'module.prototypes.*': 1,
        'module.projection_head.*': 9
    }


def test_mmselfsup_reads_cfg_preprocessor(sources, tmp_path):
    ckpt = dict(sources['mmselfsup'])
    cfg = ckpt['meta']['cfg'].replace('bgr_to_rgb=True', 'bgr_to_rgb=False')
    ckpt['meta'] = dict(ckpt['meta'], cfg=cfg.replace('123.675', '100.0'))
    src = _save(ckpt, tmp_path / 'm.pth')
    summary = ck.convert(src, str(tmp_path / 'o.pth'))
    pre = summary['meta']['pretrain_cfg']
    assert pre['channel_order'] == 'bgr' and pre['bgr_to_rgb'] is False
    assert pre['mean'][0] == 100.0
    assert 'meta' in pre['basis']


def test_moco_target_starts_a_fresh_queue_by_default(files, tmp_path):
    dst = str(tmp_path / 'fresh.pth')
    summary = ck.convert(files['pycontrast'], dst, target='mmselfsup-moco')
    state = load_checkpoint_file(dst)['state_dict']
    assert 'queue' not in state and 'queue_ptr' not in state
    assert summary['queue'].startswith('left to init: a fresh queue')
    assert "contrast['memory']" in summary['dropped']


def test_mmselfsup_moco_passes_queue_and_pointer(files, sources, tmp_path):
    src = files['mmselfsup']
    dst = str(tmp_path / 'o.pth')
    ck.convert(src, dst, target='mmselfsup-moco', keep_queue=True)
    got = load_checkpoint_file(dst)['state_dict']
    want = sources['mmselfsup']['state_dict']
    assert set(got) == set(want)
    for k, v in want.items():
        if k != 'encoder_k.steps':
            assert torch.equal(got[k], v), k
    assert int(got['encoder_k.steps']) == 1


# ---------------------------------------------------------------- errors


def test_missing_weight(tmp_path):
    state = torchvision_checkpoint()
    del state['layer3.1.conv2.weight']
    src = _save(state, tmp_path / 'tv.pth')
    with pytest.raises(ck.CheckpointFormatError) as e:
        ck.convert(src, str(tmp_path / 'o.pth'))
    assert 'tv.pth' in str(e.value)
    assert '1 weights missing (layer3.1.conv2.weight)' in str(e.value)
    assert not osp.exists(tmp_path / 'o.pth')


def test_shape_mismatch(tmp_path):
    state = torchvision_checkpoint()
    state['layer2.0.bn1.weight'] = torch.ones(64)
    src = _save(state, tmp_path / 'tv.pth')
    with pytest.raises(
            ck.CheckpointFormatError,
            match=r'layer2\.0\.bn1'
            r'\.weight: \(64,\) vs \(128,\)'):
        ck.convert(src, str(tmp_path / 'o.pth'))


def test_unexpected_trunk_key(tmp_path):
    state = torchvision_checkpoint()
    state['layer1.0.se.weight'] = torch.ones(4)
    src = _save(state, tmp_path / 'tv.pth')
    with pytest.raises(ck.CheckpointFormatError, match='unexpected'):
        ck.convert(src, str(tmp_path / 'o.pth'))


def test_missing_bn_counters_are_added(tmp_path):
    state = {
        k: v
        for k, v in torchvision_checkpoint().items()
        if not k.endswith('num_batches_tracked')
    }
    src = _save(state, tmp_path / 'old.pth')
    summary = ck.convert(src, str(tmp_path / 'o.pth'))
    assert summary['bn_counters_added'] == 20


def test_wrong_src_format(files, tmp_path):
    src = files['swav']
    with pytest.raises(ck.CheckpointFormatError, match='--src-format swav'):
        ck.convert(src, str(tmp_path / 'o.pth'), src_format='torchvision')


def test_wrong_layout(tmp_path):
    src = _save({'weights': {'a.b': torch.zeros(2)}}, tmp_path / 'w.pth')
    with pytest.raises(ck.CheckpointFormatError, match='w.pth.*unknown'):
        ck.convert(src, str(tmp_path / 'o.pth'))


def test_unsafe_pickle_gives_remedy(sources, tmp_path):
    src = str(tmp_path / 'unsafe.pth')
    # a non-tensor object, as a training script might pickle
    torch.save(dict(sources['pycontrast'], meter=AverageMeter()), src)
    with pytest.raises(UnsafeCheckpointError) as e:
        ck.convert(src, str(tmp_path / 'o.pth'))
    assert 'unsafe.pth' in str(e.value)
    assert 'weights_only=False' in str(e.value)  # the one-off remedy


def test_refuses_overwrite_without_force(files, tmp_path):
    src = files['torchvision']
    dst = tmp_path / 'o.pth'
    dst.write_bytes(b'keep')
    with pytest.raises(FileExistsError, match='--force'):
        ck.convert(src, str(dst))
    assert dst.read_bytes() == b'keep'
    ck.convert(src, str(dst), force=True)
    assert 'state_dict' in load_checkpoint_file(str(dst))
    assert [p.name for p in tmp_path.iterdir()
            if p.name.endswith('.tmp')] == []
    with pytest.raises(FileExistsError, match='source'):
        ck.convert(src, src, force=True)


def test_build_moco_checkpoint_rejects_half_momentum():
    trunk = {'conv1.weight': torch.zeros(1)}
    neck = {'mlp.0.weight': torch.zeros(1)}
    with pytest.raises(ValueError, match='momentum'):
        ck.build_moco_checkpoint(trunk, {}, neck=neck, momentum_backbone=trunk)
    with pytest.raises(ValueError, match='queue'):
        ck.build_moco_checkpoint(trunk, {}, queue=torch.zeros(2, 2))


# ---------------------------------------------------------------- consumers


def test_mmdet_target_loads_into_mmdet_resnet(files, tmp_path):
    from mmdet.models.backbones import ResNet
    src = files['pycontrast']
    dst = str(tmp_path / 'mmdet.pth')
    ck.convert(src, dst)
    state = load_checkpoint_file(dst)['state_dict']
    model = ResNet(depth=18)
    model.load_state_dict({k[9:]: v for k, v in state.items()}, strict=True)
    # the way configs load it: init_cfg Pretrained with prefix backbone.
    model = ResNet(
        depth=18,
        init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=dst))
    model.init_weights()
    assert torch.equal(model.layer4[1].conv2.weight,
                       state['backbone.layer4.1.conv2.weight'])


@pytest.mark.parametrize('fmt', list(SOURCES))
def test_moco_target_loads_into_mmselfsup_moco(files, tmp_path, fmt):
    src = files[fmt]
    dst = str(tmp_path / 'moco.pth')
    ck.convert(src, dst, target='mmselfsup-moco', keep_queue=True)
    state = load_checkpoint_file(dst)['state_dict']
    model, _ = moco_model()
    result = model.load_state_dict(state, strict=False)
    assert result.unexpected_keys == []
    if fmt in ('pycontrast', 'mmselfsup'):
        assert result.missing_keys == []
        model.load_state_dict(state, strict=True)
    else:  # no fc-relu-fc head in the source: neck and queue left to init
        assert sorted(result.missing_keys) == sorted(['queue', 'queue_ptr'] + [
            f'{p}mlp.{i}.{w}' for p in ('neck.', ck.MOCO_MOMENTUM_NECK)
            for i in (0, 2) for w in ('weight', 'bias')
        ])
