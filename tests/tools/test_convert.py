"""The command line of tools/model_converters/convert.py."""
import os.path as osp
import subprocess
import sys
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
import torchvision

from custom_modules.compat.checkpoint import load_checkpoint_file

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'model_converters', 'convert.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('model_converters', 'convert.py')


@pytest.fixture
def swav_release(tmp_path):
    """A SwAV-style release: bare DDP state dict with head + prototypes."""
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None)
    state = OrderedDict(('module.' + k, v)
                        for k, v in net.state_dict().items()
                        if not k.startswith('fc.'))
    head = nn.Sequential(
        nn.Linear(512, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 8))
    state.update(('module.projection_head.' + k, v)
                 for k, v in head.state_dict().items())
    state['module.prototypes.weight'] = torch.randn(10, 8)
    path = str(tmp_path / 'swav_800ep_pretrain.pth.tar')
    torch.save(state, path)
    return path, net.state_dict()


def test_main_writes_and_prints_summary(tool, swav_release, tmp_path, capsys):
    src, want = swav_release
    dst = str(tmp_path / 'out' / 'swav_r18_mmdet.pth')
    assert tool.main(['--src-format', 'swav', src, dst]) == 0
    out = capsys.readouterr().out
    assert 'ResNet-18' in out
    assert 'module.prototypes.* (1)' in out
    assert 'module.projection_head.* (9)' in out
    state = load_checkpoint_file(dst)['state_dict']
    assert torch.equal(state['backbone.layer2.0.downsample.0.weight'],
                       want['layer2.0.downsample.0.weight'])


def test_main_refuses_overwrite_then_force(tool, swav_release, tmp_path,
                                           capsys):
    src, _ = swav_release
    dst = tmp_path / 'o.pth'
    dst.write_bytes(b'old')
    assert tool.main([src, str(dst)]) == 1
    err = capsys.readouterr().err
    assert 'already exists' in err and '--force' in err
    assert dst.read_bytes() == b'old'
    assert tool.main([src, str(dst), '--force']) == 0
    assert 'state_dict' in load_checkpoint_file(str(dst))


def test_main_reports_bad_input(tool, tmp_path, capsys):
    src = str(tmp_path / 'junk.pth')
    torch.save({'foo': torch.zeros(1)}, src)
    assert tool.main([src, str(tmp_path / 'o.pth')]) == 1
    err = capsys.readouterr().err
    assert 'junk.pth' in err and 'unknown checkpoint layout' in err
    assert not osp.exists(tmp_path / 'o.pth')


@pytest.mark.slow
def test_script_runs_from_elsewhere(swav_release, tmp_path):
    src, _ = swav_release
    dst = str(tmp_path / 'moco.pth')
    proc = subprocess.run(
        [sys.executable, TOOL, src, dst, '--target', 'mmselfsup-moco'],
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert 'left to init' in proc.stdout
    meta = load_checkpoint_file(dst)['meta']
    assert meta['target'] == 'mmselfsup-moco'
    assert meta['pretrain_cfg']['channel_order'] == 'rgb'
