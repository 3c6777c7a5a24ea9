"""Fixtures of the real-data tests: the 75 KITTI frames of
``../shared/fixtures/kitti_75`` (``kitti75_root``, tests/conftest.py) as a
writable KITTI root, an unlabeled pool and converted annotations; the tools
run as subprocesses (``run_tool``, tests/conftest.py)."""
import os
import os.path as osp
from typing import Callable

import pytest


def link_kitti(src_root: str, dst_root: str) -> str:
    """A KITTI root at ``dst_root`` whose images are symbolic links to
    ``src_root``'s and whose label files are copies: a test replaces a
    link or edits a label without touching the read-only fixture."""
    for sub in ('image_2', 'label_2'):
        src = osp.join(src_root, 'training', sub)
        dst = osp.join(dst_root, 'training', sub)
        os.makedirs(dst)
        for name in sorted(os.listdir(src)):
            if sub == 'image_2':
                os.symlink(osp.join(src, name), osp.join(dst, name))
            else:
                with open(osp.join(src, name), 'rb') as f:
                    data = f.read()
                with open(osp.join(dst, name), 'wb') as f:
                    f.write(data)
    return dst_root


@pytest.fixture
def kitti75_copy(kitti75_root, tmp_path) -> str:
    """A writable KITTI root of the 75 frames (images linked)."""
    return link_kitti(kitti75_root, str(tmp_path / 'kitti'))


def truncate_copy(src: str, dst: str, fraction: float = 0.5) -> None:
    """Write the first ``fraction`` of the bytes of ``src`` to ``dst`` (a
    real file cut short, as an interrupted copy leaves it), replacing
    ``dst`` if it is a link."""
    with open(src, 'rb') as f:
        data = f.read()
    if osp.lexists(dst):
        os.remove(dst)
    with open(dst, 'wb') as f:
        f.write(data[:int(len(data) * fraction)])


@pytest.fixture(scope='session')
def truncate() -> Callable[..., None]:
    """:func:`truncate_copy`, for the tests."""
    return truncate_copy


@pytest.fixture(scope='session')
def train_losses() -> Callable[..., list]:
    """``train_losses(work_dir)``: the ``loss`` of every logged training
    iteration of a run, read with the toolkit's ``scalars.json`` reader."""
    from ssdet.analysis.logs import load_log

    def losses(work_dir) -> list:
        return [r['loss'] for r in load_log(str(work_dir)).train
                if 'loss' in r]

    return losses


@pytest.fixture(scope='session')
def kitti75_pool(kitti75_root, tmp_path_factory) -> str:
    """An unlabeled pool: the 75 PNGs (linked) and one truncated copy of a
    real frame, ``zz_truncated.png``."""
    pool = tmp_path_factory.mktemp('kitti75_pool')
    image_dir = osp.join(kitti75_root, 'training', 'image_2')
    for name in sorted(os.listdir(image_dir)):
        os.symlink(osp.join(image_dir, name), pool / name)
    truncate_copy(
        osp.join(image_dir, '000010.png'), str(pool / 'zz_truncated.png'))
    return str(pool)


@pytest.fixture(scope='session')
def r18_torchvision(tmp_path_factory) -> str:
    """A randomly initialised torchvision ResNet-18 state dict (seed 0):
    the shape of the weights a user converts, without a download."""
    import torch
    import torchvision
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp('weights') / 'r18_torchvision.pth')
    torch.save(torchvision.models.resnet18().state_dict(), path)
    return path
