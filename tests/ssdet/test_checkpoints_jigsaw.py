"""The jigsaw head through the checkpoint converter: PyContrast's
``head_jig`` (and its memory) to ``InfoMinJigsawMoCo`` with
``--target mmselfsup-jigsaw-moco``.

The source is a ``ContrastTrainer.save`` dict of a ResNet-18 built like
PyContrast's ``RGBMultiHeads(head='mlp')``: ``module.encoder.*``,
``module.head.{0,2}.*``, ``module.head_jig.fc1.{0,2}.*`` and
``module.head_jig.fc2.*`` under ``model``; the same without ``module.``
under ``model_ema``; the one ``RGBMoCo`` memory as ``contrast['memory']``
(K x 128 rows).
"""
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torchvision
from mmengine.config import Config
from mmengine.registry import init_default_scope

from custom_modules.compat.checkpoint import load_checkpoint_file
from ssdet import checkpoints as ck

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_JIGSAW = osp.join(REPO, 'configs', 'infomin',
                       'mocov2-jigsaw_resnet18_1xb16-coslr-2e_synthetic.py')
MEMORY = 256  # the tiny config's queue
TARGET = 'mmselfsup-jigsaw-moco'


class _JigsawHead(nn.Module):
    """PyContrast ``networks/util.py:JigsawHead``: ``fc1`` per patch,
    ``fc2`` over the 9 concatenated patches."""

    def __init__(self, dim_in, dim_out, k=9, head='mlp'):
        super().__init__()
        self.fc1 = nn.Sequential(
            nn.Linear(dim_in, dim_in), nn.ReLU(), nn.Linear(
                dim_in, dim_out)) if head == 'mlp' else nn.Linear(
                    dim_in, dim_out)
        self.fc2 = nn.Linear(dim_out * k, dim_out)


class _RGBMultiHeads(nn.Module):
    """``encoder`` (no fc), ``head`` (Linear-ReLU-Linear-Normalize),
    ``head_jig``."""

    def __init__(self, jigsaw='mlp'):
        super().__init__()
        self.encoder = torchvision.models.resnet18()
        del self.encoder.fc
        self.head = nn.Sequential(
            nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 128), nn.Identity())
        if jigsaw:
            self.head_jig = _JigsawHead(512, 128, head=jigsaw)


class _DDP(nn.Module):

    def __init__(self, module):
        super().__init__()
        self.module = module


def pycontrast_infomin(path, jigsaw='mlp'):
    """Save an InfoMin trainer file; return it."""
    torch.manual_seed(0)
    ckpt = dict(
        model=_DDP(_RGBMultiHeads(jigsaw)).state_dict(),
        model_ema=_RGBMultiHeads(jigsaw).state_dict(),
        contrast=dict(
            memory=nn.functional.normalize(torch.randn(MEMORY, 128), dim=1)),
        epoch=800)
    torch.save(ckpt, path)
    return ckpt


def jigsaw_moco():
    from mmselfsup.registry import MODELS
    init_default_scope('mmselfsup')
    return MODELS.build(Config.fromfile(TINY_JIGSAW).model)


@pytest.fixture(scope='module')
def infomin(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('src') / 'InfoMin_r18.pth')
    return path, pycontrast_infomin(path)


def test_head_jig_becomes_the_jigsaw_neck(infomin, tmp_path):
    src, ckpt = infomin
    dst = str(tmp_path / 'jigsaw.pth')
    summary = ck.convert(src, dst, target=TARGET)
    state = load_checkpoint_file(dst)['state_dict']
    model = ckpt['model']
    for ours, theirs in (('mlp.0', 'fc1.0'), ('mlp.2', 'fc1.2'), ('fc',
                                                                  'fc2')):
        for p in ('weight', 'bias'):
            assert torch.equal(state[f'jigsaw_neck.{ours}.{p}'],
                               model[f'module.head_jig.{theirs}.{p}'])
    assert summary['jigsaw'].startswith(
        "mapped from model['module.head_jig.*']: JigsawNeck in_channels=512, "
        'hid_channels=512, out_channels=128, num_patches=9')
    # the EMA copy is never applied by PyContrast: dropped, and said so
    assert "model_ema['head_jig.*'] dropped" in summary['jigsaw']
    assert summary['dropped'] == {
        "model_ema['head_jig.*']": 6,
        "contrast['memory']": 1
    }
    assert not any(k.startswith('encoder_k.module.2') for k in state)
    # the rest is the MoCo target's
    plain = ck.convert(
        src, str(tmp_path / 'moco.pth'), target='mmselfsup-moco')
    moco = load_checkpoint_file(str(tmp_path / 'moco.pth'))['state_dict']
    assert set(state) - set(moco) == {
        f'jigsaw_neck.{m}.{p}'
        for m in ('mlp.0', 'mlp.2', 'fc')
        for p in ('weight', 'bias')
    }
    assert all(torch.equal(moco[k], state[k]) for k in moco)
    assert plain['jigsaw'] is None
    assert "model['module.head_jig.*']" in plain['dropped']


def test_loads_into_the_algorithm_with_the_memory(infomin, tmp_path):
    src, ckpt = infomin
    dst = str(tmp_path / 'jigsaw.pth')
    summary = ck.convert(src, dst, target=TARGET, keep_queue=True)
    assert summary['dropped'] == {"model_ema['head_jig.*']": 6}
    state = load_checkpoint_file(dst)['state_dict']
    # one memory serves both branches: it is the queue, there is no other
    assert torch.equal(state['queue'], ckpt['contrast']['memory'].t())
    assert not any('jig' in k and 'queue' in k for k in state)
    model = jigsaw_moco()
    model.load_state_dict(state, strict=True)
    assert torch.equal(model.jigsaw_neck.fc.weight,
                       ckpt['model']['module.head_jig.fc2.weight'])
    assert torch.equal(model.encoder_k.module[1].mlp[2].bias,
                       ckpt['model_ema']['head.2.bias'])


@pytest.mark.parametrize('jigsaw', [None, 'linear'])
def test_without_an_mlp_jigsaw_head_it_starts_fresh(tmp_path, jigsaw):
    src = str(tmp_path / 'moco_v2.pth')
    pycontrast_infomin(src, jigsaw)
    dst = str(tmp_path / 'out.pth')
    summary = ck.convert(src, dst, target=TARGET)
    state = load_checkpoint_file(dst)['state_dict']
    assert not any(k.startswith('jigsaw_neck.') for k in state)
    if jigsaw is None:
        assert summary['jigsaw'] == ('left to init: the source has no '
                                     'jigsaw head')
    else:
        assert summary['jigsaw'].startswith(
            'left to init: its jigsaw head is not a per-patch fc-relu-fc '
            'and one fc (fc1.weight, fc1.bias, fc2.weight')
        assert summary['dropped']["model['module.head_jig.*']"] == 4
    result = jigsaw_moco().load_state_dict(state, strict=False)
    assert result.unexpected_keys == []
    assert sorted(result.missing_keys) == sorted(['queue', 'queue_ptr'] + [
        f'jigsaw_neck.{m}.{p}' for m in ('mlp.0', 'mlp.2', 'fc')
        for p in ('weight', 'bias')
    ])


def test_torchvision_source_leaves_the_jigsaw_neck_to_init(tmp_path):
    src = str(tmp_path / 'tv.pth')
    torch.save(torchvision.models.resnet18().state_dict(), src)
    summary = ck.convert(src, str(tmp_path / 'o.pth'), target=TARGET)
    assert summary['jigsaw'] == 'left to init: the source has no jigsaw head'


def test_our_own_checkpoint_keeps_its_jigsaw_neck(tmp_path):
    """A checkpoint of InfoMinJigsawMoCo (mmselfsup format) to the jigsaw
    target keeps ``jigsaw_neck.*``; to mmdet it is dropped and counted."""
    model = jigsaw_moco()
    with torch.no_grad():
        model.jigsaw_neck.fc.weight.add_(1)
    src = str(tmp_path / 'epoch_1.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict=model.state_dict()), src)
    dst = str(tmp_path / 'again.pth')
    summary = ck.convert(src, dst, target=TARGET, keep_queue=True)
    assert summary['jigsaw'].startswith("mapped from jigsaw_neck.*")
    again = load_checkpoint_file(dst)['state_dict']
    assert set(again) == set(model.state_dict())
    assert torch.equal(again['jigsaw_neck.fc.weight'],
                       model.jigsaw_neck.fc.weight)
    summary = ck.convert(src, str(tmp_path / 'mmdet.pth'))
    assert summary['dropped']['jigsaw_neck.*'] == 6


def test_mismatched_embedding_is_not_kept(tmp_path):
    src = str(tmp_path / 'odd.pth')
    ckpt = pycontrast_infomin(src)
    for state, prefix in ((ckpt['model'], 'module.head_jig.'),
                          (ckpt['model_ema'], 'head_jig.')):
        state[prefix + 'fc2.weight'] = torch.randn(128, 1000)
    torch.save(ckpt, src)
    summary = ck.convert(src, str(tmp_path / 'o.pth'), target=TARGET)
    assert summary['jigsaw'] == (
        'left to init: its combining layer (128, 1000) does not take whole '
        '128-d patch embeddings; model_ema[\'head_jig.*\'] dropped (never '
        'applied by PyContrast\'s momentum encoder)')
    assert summary['dropped']["model['module.head_jig.*']"] == 6


def test_command_line_reports_the_jigsaw_neck(infomin, tmp_path, load_tool,
                                              capsys):
    convert = load_tool('model_converters', 'convert.py')
    src, _ = infomin
    rc = convert.main(
        [src, str(tmp_path / 'o.pth'), '--target', TARGET, '--keep-queue'])
    out = capsys.readouterr().out
    assert rc == 0
    row = next(line for line in out.splitlines()
               if 'jigsaw' in line and 'JigsawNeck' in line)
    assert "model['module.head_jig.*']" in row
