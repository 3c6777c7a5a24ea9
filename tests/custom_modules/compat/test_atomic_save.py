"""A crash while saving leaves the previous checkpoint and last_checkpoint
usable, and ``--resume`` continues from them."""
import os
import os.path as osp

import pytest
import torch
from mmengine.hooks import CheckpointHook, checkpoint_hook
from mmengine.runner import checkpoint as ckpt_mod

from custom_modules.compat import atomic_save
from custom_modules.compat.checkpoint import load_checkpoint_file


@pytest.fixture
def make_runner(toy_runner):
    """A toy run keeping one checkpoint an epoch (max_keep_ckpts=1)."""

    def make(work_dir, max_epochs, resume=False):
        return toy_runner(
            work_dir,
            max_epochs=max_epochs,
            default_hooks=dict(
                checkpoint=dict(
                    type='CheckpointHook', interval=1, max_keep_ckpts=1)),
            resume=resume,
            randomness=dict(seed=0))

    return make


@pytest.fixture(autouse=True)
def patched():
    assert atomic_save.install()
    yield


def crash_mid_write(obj, f, *args, **kwargs):
    """torch.save that dies half-way through writing."""
    f.write(b'PK\x03\x04 half a checkpoint')
    raise OSError('simulated crash while saving')


def test_crash_while_saving_keeps_previous_checkpoint(tmp_path, monkeypatch,
                                                      make_runner):
    make_runner(tmp_path, 1).train()
    last = tmp_path / 'last_checkpoint'
    first = tmp_path / 'epoch_1.pth'
    assert last.read_text() == str(first)
    before = first.read_bytes()

    monkeypatch.setattr(torch, 'save', crash_mid_write)
    with pytest.raises(OSError, match='simulated crash'):
        make_runner(tmp_path, 2, resume=True).train()
    monkeypatch.undo()

    # max_keep_ckpts=1 did not delete epoch_1 before epoch_2 was safe, and
    # neither a partial epoch_2.pth nor a temp file is left behind.
    assert first.read_bytes() == before
    assert last.read_text() == str(first)
    assert not (tmp_path / 'epoch_2.pth').exists()
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]
    assert load_checkpoint_file(str(first))['meta']['epoch'] == 1

    runner = make_runner(tmp_path, 2, resume=True)
    runner.train()
    assert runner.epoch == 2
    assert last.read_text() == str(tmp_path / 'epoch_2.pth')
    assert not first.exists()  # retired only after epoch_2 was written
    assert load_checkpoint_file(str(tmp_path / 'epoch_2.pth'))['meta'][
        'epoch'] == 2


def test_upstream_alone_loses_the_checkpoint(tmp_path, monkeypatch,
                                             make_runner):
    """Why the patch exists: mmengine 0.10.7 deletes, then saves."""
    if not atomic_save._originals:
        pytest.skip('upstream writes atomically; the patch is inactive')
    make_runner(tmp_path, 1).train()
    monkeypatch.setattr(CheckpointHook, '_save_checkpoint_with_step',
                        atomic_save._originals['_save_checkpoint_with_step'])
    monkeypatch.setattr(ckpt_mod, 'save_checkpoint',
                        atomic_save._originals['save_checkpoint'])
    monkeypatch.setattr('mmengine.runner.runner.save_checkpoint',
                        atomic_save._originals['save_checkpoint'])
    monkeypatch.setattr(torch, 'save', crash_mid_write)
    with pytest.raises(OSError):
        make_runner(tmp_path, 2, resume=True).train()
    assert not (tmp_path / 'epoch_1.pth').exists()


def test_last_checkpoint_write_is_atomic(tmp_path):
    path = tmp_path / 'last_checkpoint'
    path.write_text('work_dirs/x/epoch_1.pth')
    with pytest.raises(RuntimeError):
        with checkpoint_hook.open(str(path), 'w') as f:
            f.write('work_dirs/x/ep')
            raise RuntimeError('killed')
    assert path.read_text() == 'work_dirs/x/epoch_1.pth'
    with checkpoint_hook.open(str(path), 'w') as f:
        f.write('work_dirs/x/epoch_2.pth')
    assert path.read_text() == 'work_dirs/x/epoch_2.pth'
    # Reads still go to the builtin open.
    with checkpoint_hook.open(str(path)) as f:
        assert f.read() == 'work_dirs/x/epoch_2.pth'


def test_atomic_open_permissions_and_cleanup(tmp_path):
    target = tmp_path / 'sub' / 'out.bin'
    with atomic_save.atomic_open(str(target)) as f:
        f.write(b'abc')
    assert target.read_bytes() == b'abc'
    mask = os.umask(0)
    os.umask(mask)
    assert osp.getsize(target) == 3
    assert (os.stat(target).st_mode & 0o777) == (0o666 & ~mask)
    with pytest.raises(ValueError):
        with atomic_save.atomic_open(str(target), 'a'):
            pass


def test_non_local_paths_go_upstream(monkeypatch):
    seen = []
    monkeypatch.setitem(atomic_save._originals, 'save_checkpoint',
                        lambda *a, **k: seen.append(a[1]))
    atomic_save.save_checkpoint({}, 'pavi://model/epoch_1.pth')
    assert seen == ['pavi://model/epoch_1.pth']
