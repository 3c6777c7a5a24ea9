"""EffectiveBatchLrHook logs the global batch and the lr after
``auto_scale_lr``, once, before the first iteration."""
import glob

import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, SequentialSampler

from custom_modules.engine.hooks.effective_batch_lr_hook import \
    per_process_batch


def log_text(work_dir):
    (log, ) = glob.glob(str(work_dir / '*' / '*.log'))
    with open(log) as f:
        return f.read()


@pytest.mark.parametrize('enable,lr', [(True, '4.00e-01'),
                                       (False, '2.00e-01')])
def test_logs_the_scaled_lr(toy_runner, tmp_path, enable, lr):
    # 2 images a batch on 1 process against a base batch of 1: lr x 2,
    # logged as it is after the scaling, not as the warm-up starts it
    runner = toy_runner(
        tmp_path,
        lr=0.2,
        auto_scale_lr=dict(enable=enable, base_batch_size=1),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.001, by_epoch=False,
                 begin=0, end=10)
        ],
        custom_hooks=[dict(type='EffectiveBatchLrHook')])
    runner.train()
    lines = [
        line for line in log_text(tmp_path).splitlines()
        if 'effective batch' in line
    ]
    assert len(lines) == 1
    assert 'effective batch 2 (1 processes x 2 images)' in lines[0]
    if enable:
        assert 'auto_scale_lr on (base batch 1, lr x 2)' in lines[0]
    else:
        assert 'auto_scale_lr off' in lines[0]
    assert lines[0].endswith(f'lr of the param groups: {lr}')


def test_batch_of_a_loader_with_a_batch_sampler():
    """mmdet's loaders batch through a batch sampler (its
    AspectRatioBatchSampler): DataLoader.batch_size is None there."""
    data = torch.zeros(12, 2)
    assert per_process_batch(DataLoader(data, batch_size=4)) == 4
    sampler = BatchSampler(SequentialSampler(data), 6, drop_last=False)
    loader = DataLoader(data, batch_sampler=sampler)
    assert loader.batch_size is None
    assert per_process_batch(loader) == 6
