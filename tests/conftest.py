"""Shared fixtures. ``custom_modules`` is imported first: it installs the
compatibility layer (the ``mmcv._ext`` provider) before anything imports
``mmcv.ops``."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys
from typing import Callable, List, Tuple

import pytest

import custom_modules  # noqa: F401

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

KITTI_FIXTURE = osp.join(osp.dirname(REPO_ROOT), 'shared', 'fixtures', 'kitti')
KITTI75_FIXTURE = osp.join(
    osp.dirname(REPO_ROOT), 'shared', 'fixtures', 'kitti_75')


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def load_tool():
    """A function importing a script under ``tools/`` (not a package) as a
    new module on each call: ``load_tool('analysis', 'benchmark.py')``."""

    def load(*parts):
        path = osp.join(REPO_ROOT, 'tools', *parts)
        spec = importlib.util.spec_from_file_location(
            'tool_' + osp.splitext(parts[-1])[0], path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope='session')
def run_tool(repo_root) -> Callable[..., Tuple[int, str]]:
    """``run_tool('train.py', *args)``: a script under ``tools/`` in a
    subprocess from the repository root, with one OpenMP thread (two were
    several times slower per step on 2 shared cores, docs/benchmarks.md);
    returns the exit code and the output (stdout, then stderr)."""

    def run(tool, *args, timeout=900):
        cmd = [sys.executable, osp.join(repo_root, 'tools', *tool.split('/'))]
        proc = subprocess.run(
            cmd + [str(a) for a in args],
            cwd=repo_root,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(os.environ, OMP_NUM_THREADS='1'))
        return proc.returncode, proc.stdout + proc.stderr

    return run


@pytest.fixture(scope='session')
def synthetic_options() -> Callable[..., List[str]]:
    """``synthetic_options(data_root)``: ``--cfg-options`` for one short
    CPU epoch of a synthetic-set config on ``data_root`` (batch 4, no
    loader workers, val annotations for every evaluator)."""

    def options(data_root: str) -> List[str]:
        root = data_root.rstrip('/') + '/'
        opts = ['train_cfg.max_epochs=1', 'randomness.seed=0']
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
            opts += [
                f'{loader}.dataset.data_root={root}',
                f'{loader}.num_workers=0',
                f'{loader}.persistent_workers=False', f'{loader}.batch_size=4'
            ]
        for evaluator in ('val_evaluator', 'test_evaluator'):
            opts.append(f'{evaluator}.ann_file={root}annotations/val.json')
        return opts

    return options


@pytest.fixture(scope='session')
def save_swav_checkpoint() -> Callable[..., dict]:
    """``save_swav_checkpoint(path, randomize=False)``: a
    real mmselfsup SwAV (ResNet-18 backbone, SwAVNeck, SwAVHead with 8
    prototypes) saved as mmengine saves it, ``{'meta': {'cfg': <config
    text>, ...}, 'state_dict': ...}``; ``randomize`` draws every parameter
    from U(-1, 1) so that loading is visible. Returns the state dict."""

    def save(path: str, randomize: bool = False) -> dict:
        import torch
        from mmengine.config import Config
        from mmselfsup.registry import MODELS
        cfg = dict(
            type='SwAV',
            data_preprocessor=dict(
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                bgr_to_rgb=True),
            backbone=dict(
                type='ResNet',
                depth=18,
                in_channels=3,
                out_indices=[4],
                norm_cfg=dict(type='BN'),
                zero_init_residual=True),
            neck=dict(
                type='SwAVNeck',
                in_channels=512,
                hid_channels=32,
                out_channels=16,
                with_avg_pool=True),
            head=dict(
                type='SwAVHead',
                loss=dict(
                    type='SwAVLoss',
                    feat_dim=16,
                    num_prototypes=8,
                    epsilon=0.05,
                    temperature=0.1,
                    num_crops=[2, 6])))
        model = MODELS.build(dict(cfg, _scope_='mmselfsup'))
        if randomize:
            with torch.no_grad():
                for p in model.parameters():
                    p.uniform_(-1, 1)
        state = model.state_dict()
        meta = dict(
            epoch=1,
            iter=10,
            cfg=Config(dict(model=cfg, default_scope='mmselfsup')).pretty_text)
        torch.save(dict(meta=meta, state_dict=state), path)
        return state

    return save


@pytest.fixture(scope='session')
def kitti_root():
    """The real KITTI samples shipped in ``../shared/fixtures/kitti``."""
    if not osp.isdir(osp.join(KITTI_FIXTURE, 'training', 'label_2')):
        pytest.skip(f'KITTI fixture not found at {KITTI_FIXTURE}')
    return KITTI_FIXTURE


@pytest.fixture(scope='session')
def kitti75_root():
    """The 75 real KITTI training frames of ``../shared/fixtures/kitti_75``
    (original PNGs of four sizes and their label files; read-only: copy a
    file before changing it)."""
    for sub in ('image_2', 'label_2'):
        if not osp.isdir(osp.join(KITTI75_FIXTURE, 'training', sub)):
            pytest.skip(f'KITTI 75-frame fixture not found at '
                        f'{KITTI75_FIXTURE} (training/{sub} is missing)')
    return KITTI75_FIXTURE


@pytest.fixture(scope='session')
def synthetic_set(tmp_path_factory) -> Callable[..., str]:
    """``synthetic_set(name, **sizes)``: a generated detection set (seed 0)
    in a new temporary folder; ``sizes`` as
    :func:`ssdet.data.synthetic.generate` takes them."""

    def make(name: str, **sizes) -> str:
        from ssdet.data.synthetic import generate
        out = str(tmp_path_factory.mktemp(name))
        generate(out, seed=0, **sizes)
        return out

    return make


@pytest.fixture(scope='session')
def synthetic_root(synthetic_set):
    """A small synthetic detection set (COCO JSON + unlabeled pool)."""
    return synthetic_set('synthetic', num_unlabeled=48, num_train=24,
                         num_val=8, num_test=8, size=(96, 128))


def pytest_configure(config):
    # Tests must never reach for a GPU or the network.
    os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')
