"""Shared fixtures. ``custom_modules`` is imported first: it installs the
compatibility layer (the ``mmcv._ext`` provider) before anything imports
``mmcv.ops``."""
import importlib.util
import os
import os.path as osp

import pytest

import custom_modules  # noqa: F401

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

KITTI_FIXTURE = osp.join(
    osp.dirname(REPO_ROOT), 'shared', 'fixtures', 'kitti')
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
def synthetic_root(tmp_path_factory):
    """A small synthetic detection set (COCO JSON + unlabeled pool)."""
    from ssdet.data.synthetic import generate
    out = tmp_path_factory.mktemp('synthetic')
    generate(
        str(out),
        seed=0,
        num_unlabeled=48,
        num_train=24,
        num_val=8,
        num_test=8,
        size=(96, 128))
    return str(out)


def pytest_configure(config):
    # Tests must never reach for a GPU or the network.
    os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')
