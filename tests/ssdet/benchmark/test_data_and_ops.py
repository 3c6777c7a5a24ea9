"""Tests of custom_modules/benchmark/{data,ops,train_step}.py."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from ssdet.benchmark.data import (SwAVTorchvisionMultiCrop, multicrop_spec,
                                  real_samples, write_samples)
from ssdet.benchmark.ops import op_groups
from ssdet.benchmark.train_step import prepare_config

R50_SWAV = ('configs/swav/swav_resnet50_4xb64-mcrop-2-6-coslr-200e_'
            'unlabeled-224-96_3000p.py')


def test_multicrop_spec_reads_the_config(repo_root):
    cfg = Config.fromfile(osp.join(repo_root, R50_SWAV))
    spec = multicrop_spec(cfg.train_dataloader.dataset.pipeline)
    assert spec == [(2, 224, (0.14, 1.0)), (6, 96, (0.05, 0.14))]
    assert multicrop_spec([dict(type='LoadImageFromFile')]) is None


def test_write_samples_and_torchvision_multicrop(tmp_path):
    samples = write_samples(str(tmp_path), 2, size=(48, 64))
    assert [osp.basename(s['img_path']) for s in samples] == [
        'bench_0000.jpg', 'bench_0001.jpg'
    ]
    for s in samples:
        assert s['instances'], 'every sample has a box'
        x1, y1, x2, y2 = s['instances'][0]['bbox']
        assert 0 <= x1 < x2 <= 64 and 0 <= y1 < y2 <= 48
    crops = SwAVTorchvisionMultiCrop([(2, 32, (0.14, 1.)),
                                      (3, 16, (0.05, 0.14))])(
                                          samples[0]['img_path'])
    assert [tuple(c.shape) for c in crops] == [(3, 32, 32)] * 2 + [
        (3, 16, 16)
    ] * 3
    assert crops[0].dtype == torch.float32


def test_real_samples_as_they_are_or_reencoded(tmp_path):
    from PIL import Image
    src = tmp_path / 'src'
    src.mkdir()
    for name in ('b.png', 'a.PNG', 'c.jpg'):
        Image.new('RGB', (20, 10), (1, 2, 3)).save(src / name)
    (src / 'list.txt').write_text('x')
    kept = real_samples(str(src), str(tmp_path / 'out'))
    assert [osp.basename(s['img_path']) for s in kept] == [
        'a.PNG', 'b.png', 'c.jpg'
    ]
    assert kept[0]['img_path'] == str(src / 'a.PNG')
    jpgs = real_samples(str(src), str(tmp_path / 'out'), 2, '.jpg', 75)
    assert [osp.basename(s['img_path']) for s in jpgs] == ['a.jpg', 'b.jpg']
    with Image.open(jpgs[0]['img_path']) as img:
        assert img.format == 'JPEG' and img.size == (20, 10)
    assert (jpgs[0]['height'], jpgs[0]['width']) == (10, 20)
    with pytest.raises(FileNotFoundError, match='no .png'):
        real_samples(str(tmp_path / 'out' / '..' / 'src' / '..'),
                     str(tmp_path / 'x'))


def test_ops_agree_with_torchvision():
    groups = op_groups(
        num_boxes=200, num_rois=16, feat_size=(8, 8), channels=4)
    nms = groups['nms']
    ref = nms['torchvision.ops']()
    assert torch.equal(torch.sort(ref)[0], torch.sort(nms['ext_ops']())[0])
    _, inds = nms['mmcv.ops']()
    assert torch.equal(torch.sort(ref)[0], torch.sort(inds)[0])
    fwd = groups['roi_align forward']
    torch.testing.assert_close(fwd['mmcv.ops'](), fwd['torchvision.ops']())
    torch.testing.assert_close(fwd['mmcv.ops use_torchvision'](),
                               fwd['torchvision.ops']())
    assert set(groups['roi_align forward+backward']) == {
        'torchvision.ops', 'mmcv.ops', 'mmcv.ops use_torchvision'
    }


def test_prepare_config_for_speed(repo_root):
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', 'demo',
                 'faster-rcnn_r18_fpn_synthetic_swav.py'))
    notes = prepare_config(cfg, batch_size=3, device='cpu', seed=5)
    assert cfg.model.backbone.init_cfg is None
    assert any('model.backbone.init_cfg' in n for n in notes)
    assert cfg.train_dataloader.batch_size == 3
    assert cfg.val_dataloader is None and cfg.val_evaluator is None
    assert cfg.randomness.seed == 5
    with pytest.raises(ValueError, match='needs --device cuda'):
        prepare_config(cfg, amp=True, device='cpu')


def test_prepare_config_amp(repo_root):
    cfg = Config.fromfile(osp.join(repo_root, R50_SWAV))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    notes = prepare_config(cfg, device='cpu')
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert 'loss_scale' not in cfg.optim_wrapper
    assert any('AMP needs a GPU' in n for n in notes)
    cfg = Config.fromfile(osp.join(repo_root, R50_SWAV))
    prepare_config(cfg, device='cuda', amp=True, amp_dtype='float16',
                   cudnn_benchmark=True)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'float16'
    assert cfg.env_cfg.cudnn_benchmark is True
