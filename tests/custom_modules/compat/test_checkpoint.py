"""Our own checkpoints resume under torch >= 2.6 with ``weights_only=True``;
anything beyond the allow-list is refused with a clear error."""
import argparse
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from custom_modules.compat import checkpoint


def mmengine_like_checkpoint():
    buffer = HistoryBuffer()
    buffer.update(0.5)
    return {
        'meta': {
            'epoch': 1,
            'seed': np.int64(3),
            'dataset_meta': {
                'classes': ('a', 'b')
            }
        },
        'state_dict': {
            'w': torch.ones(2)
        },
        'message_hub': {
            'log_scalars': {
                'train/loss': buffer
            },
            'runtime_info': {
                'iter': 5,
                'arr': np.arange(3, dtype=np.float32)
            }
        },
    }


def test_mmengine_checkpoint_round_trip(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    torch.save(mmengine_like_checkpoint(), path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)  # the torch >= 2.6 default refuses it
    ckpt = checkpoint.load_checkpoint_file(str(path))
    restored = ckpt['message_hub']['log_scalars']['train/loss']
    assert restored.mean() == 0.5
    assert ckpt['meta']['seed'] == 3


def test_mmengine_uses_the_safe_loader(tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(mmengine_like_checkpoint(), path)
    ckpt = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))


def test_real_runner_checkpoint_loads(tmp_path, toy_runner):
    runner = toy_runner(
        tmp_path, default_hooks=dict(checkpoint=dict(type='CheckpointHook')))
    runner.train()
    ckpt = checkpoint.load_checkpoint_file(str(tmp_path / 'epoch_1.pth'))
    assert ckpt['meta']['epoch'] == 1
    assert isinstance(ckpt['message_hub']['log_scalars']['train/lr'],
                      HistoryBuffer)


def test_arbitrary_objects_are_refused(tmp_path):
    path = tmp_path / 'foreign.pth'
    torch.save({'opt': argparse.Namespace(lr=0.1), 'w': torch.ones(1)}, path)
    with pytest.raises(checkpoint.UnsafeCheckpointError) as info:
        checkpoint.load_checkpoint_file(str(path))
    assert str(path) in str(info.value)
    assert 'Namespace' in str(info.value)


def test_restricted_getattr_refuses_other_targets():
    with pytest.raises(pickle.UnpicklingError):
        checkpoint._history_buffer_getattr(torch, 'load')
    with pytest.raises(pickle.UnpicklingError):
        checkpoint._history_buffer_getattr(HistoryBuffer, '__init__')
    assert checkpoint._history_buffer_getattr(HistoryBuffer,
                                              'mean') is HistoryBuffer.mean


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        checkpoint.load_checkpoint_file(str(tmp_path / 'nope.pth'))
