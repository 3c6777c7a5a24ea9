"""MultiViewGPUPreprocessor on CPU tensors: each operation against the mmcv
pipeline's semantics (crop, flip, jitter ranges, grey, blur), the views'
statistics against the CPU pipeline, and a real Runner training the tiny
SwAV from JPEG bytes."""
import copy
import os.path as osp
import random

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmselfsup.registry import MODELS
from PIL import Image

from custom_modules.models.gpu_multiview import (adjust_hue, gaussian_blur,
                                                 parse_view)
from ssdet.benchmark.data import build_pipeline
from ssdet.data.synthetic import render_image

TINY = 'configs/swav/swav_resnet18_1xb16-mcrop-2-4-coslr-3e_synthetic-64-32_64p.py'  # noqa: E501


@pytest.fixture(autouse=True)
def scope():
    init_default_scope('mmselfsup')


@pytest.fixture(scope='module')
def jpegs(tmp_path_factory):
    folder = tmp_path_factory.mktemp('jpegs')
    paths = []
    for i in range(4):
        img = render_image(64, 80, np.random.default_rng(i)).image
        paths.append(str(folder / f'{i}.jpg'))
        Image.fromarray(img).save(paths[-1], quality=90)
    return paths


def _bytes(path):
    return torch.frombuffer(
        bytearray(open(path, 'rb').read()), dtype=torch.uint8)


def _preprocessor(steps, num_views=1, **kwargs):
    crop = dict(type='RandomResizedCrop', size=32, scale=(1., 1.),
                ratio=(1.25, 1.25))  # the whole 64x80 image
    return MODELS.build(
        dict(
            type='MultiViewGPUPreprocessor',
            num_views=num_views,
            transforms=[[crop, *steps]],
            bgr_to_rgb=True,  # RGB views
            **kwargs))


def _views(preprocessor, jpegs, seed=0):
    torch.manual_seed(seed)
    random.seed(seed)
    views, _ = preprocessor(
        dict(inputs=[_bytes(p) for p in jpegs], data_samples=[None] * 4))
    return views


def test_unsupported_views_are_refused():
    with pytest.raises(ValueError, match='RandomSolarize has no tensor'):
        _preprocessor([dict(type='RandomSolarize')])
    with pytest.raises(ValueError, match='must begin with RandomResizedCrop'):
        parse_view([])


def test_decode_and_whole_image_crop(jpegs):
    (view, ) = _views(_preprocessor([]), jpegs)
    assert view.shape == (4, 3, 32, 40 * 32 // 40)
    for got, path in zip(view, jpegs):
        # a 2x reduction: each output pixel averages a 2x2 block
        bgr = cv2.resize(cv2.imread(path), (32, 32),
                         interpolation=cv2.INTER_AREA)
        want = torch.from_numpy(bgr[..., ::-1].copy()).permute(2, 0, 1)
        assert (got - want.float()).abs().mean() < 1.5
    # BGR images from the loader (non-JPEG files) give the same views
    decoded = [
        torch.from_numpy(cv2.imread(p)).permute(2, 0, 1).contiguous()
        for p in jpegs
    ]
    same, _ = _preprocessor([])(
        dict(inputs=decoded, data_samples=[None] * 4))
    assert (same[0] - view).abs().mean() < 1.5


def test_flip_grey_and_their_probabilities(jpegs):
    (plain, ) = _views(_preprocessor([]), jpegs)
    (flipped, ) = _views(
        _preprocessor([dict(type='RandomFlip', prob=1.)]), jpegs)
    assert torch.equal(flipped, plain.flip(-1))
    (kept, ) = _views(
        _preprocessor([dict(type='RandomFlip', prob=0.)]), jpegs)
    assert torch.equal(kept, plain)
    weights = (0.114, 0.587, 0.2989)  # B, G, R as in the configs
    (grey, ) = _views(
        _preprocessor([
            dict(type='RandomGrayscaleU8', prob=1., keep_channels=True,
                 channel_weights=weights)
        ]), jpegs)
    assert torch.equal(grey[:, 0], grey[:, 1])
    rgb = torch.tensor(weights[::-1]) / sum(weights)
    torch.testing.assert_close(
        grey[:, 0], (plain * rgb[:, None, None]).sum(1))
    # half of 64 views flipped
    flips = _views(
        _preprocessor([dict(type='RandomFlip', prob=0.5)], num_views=16),
        jpegs)
    share = sum(not torch.equal(v, p) for v, p in zip(flips, [plain] * 16)
                for v, p in zip(v, p)) / 64
    assert 0.3 < share < 0.7


def test_jitter_ranges_and_hue(jpegs):
    (plain, ) = _views(_preprocessor([]), jpegs)
    (bright, ) = _views(
        _preprocessor([
            dict(type='RandomApply', prob=1.,
                 transforms=[dict(type='ColorJitterU8', brightness=0.4)])
        ]), jpegs)
    inside = (plain > 8) & (bright < 254)
    ratios = [(b[m] / p[m]).mean() for b, p, m in zip(bright, plain, inside)]
    assert all(0.6 - 1e-4 <= float(r) <= 1.4 + 1e-4 for r in ratios)
    assert len({round(float(r), 3) for r in ratios}) == 4  # per image
    # a hue rotation as OpenCV's HSV (full range) does it
    img = plain[0].permute(1, 2, 0).round().byte().numpy()
    hsv = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2HSV_FULL)
    hsv[..., 0] += np.uint8(int(0.1 * 255))
    want = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB_FULL)
    got = adjust_hue(torch.from_numpy(img).permute(2, 0, 1)[None].float(),
                     torch.tensor([0.1]))[0].permute(1, 2, 0)
    assert (got - torch.from_numpy(want).float()).abs().mean() < 1.5


def test_blur_is_opencv_gaussian():
    img = render_image(48, 64, np.random.default_rng(0)).image
    for sigma in (0.5, 1.0, 2.0):
        want = cv2.GaussianBlur(img, (0, 0), sigma,
                                borderType=cv2.BORDER_REPLICATE)
        x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
        got = gaussian_blur(torch.cat([x, x]), torch.tensor([sigma, 0.3]))
        diff = (got[0].permute(1, 2, 0) - torch.from_numpy(want)).abs()
        assert diff.mean() < 0.6, sigma


def test_views_match_the_cpu_pipeline_statistics(repo_root, jpegs):
    cfg = Config.fromfile(osp.join(repo_root, TINY))
    views = cfg.train_dataloader.dataset.pipeline[1]
    gpu = MODELS.build(
        dict(type='MultiViewGPUPreprocessor', num_views=views.num_views,
             transforms=views.transforms, bgr_to_rgb=True))
    cpu = build_pipeline(cfg, cfg.train_dataloader.dataset.pipeline)
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    ours, theirs = [], []
    for _ in range(48):
        got, _ = gpu(dict(inputs=[_bytes(p) for p in jpegs],
                          data_samples=[None] * 4))
        ours.append(got[0])
        theirs += [cpu(dict(img_path=p))['inputs'][0].float() for p in jpegs]
    assert [tuple(v.shape[1:]) for v in got] == [(3, 64, 64)] * 2 + [
        (3, 32, 32)
    ] * 4
    ours, theirs = torch.cat(ours), torch.stack(theirs).flip(1)  # RGB
    # 192 views each: the standard error of a channel mean is ~3 levels
    assert (ours.mean((0, 2, 3)) - theirs.mean((0, 2, 3))).abs().max() < 12
    assert (ours.std((0, 2, 3)) - theirs.std((0, 2, 3))).abs().max() < 12


def test_runner_trains_the_tiny_swav_from_jpeg_bytes(repo_root, jpegs,
                                                     tmp_path):
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(repo_root, TINY))
    views = cfg.train_dataloader.dataset.pipeline[1]
    cfg.model.data_preprocessor.update(
        type='MultiViewGPUPreprocessor',
        num_views=views.num_views,
        transforms=copy.deepcopy(views.transforms))
    loader = cfg.train_dataloader
    loader.update(batch_size=2, num_workers=0, persistent_workers=False,
                  collate_fn=dict(type='pseudo_collate'))
    loader.dataset.update(
        data_root=osp.dirname(jpegs[0]),
        pipeline=[
            loader.dataset.pipeline[0],
            dict(type='PackImageBytes', meta_keys=['img_path'])
        ])
    cfg.train_cfg.max_epochs = 1
    cfg.work_dir = str(tmp_path)
    cfg.default_hooks.logger.interval = 1
    runner = Runner.from_cfg(cfg)
    runner.train()
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    losses = [float(v) for v in
              __import__('re').findall(r'\sloss: ([\d.]+)', log)]
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert runner.model.data_preprocessor.num_views == [2, 4]
