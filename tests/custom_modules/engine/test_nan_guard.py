"""NonFiniteLossHook stops at the first NaN loss, names the iteration and
the terms, and no checkpoint of the poisoned state is written."""
import math

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.registry import HOOKS as ROOT_HOOKS

from custom_modules.compat import atomic_save
from custom_modules.compat.checkpoint import (CheckpointReadError,
                                              load_checkpoint_file)
from custom_modules.engine.hooks.non_finite_loss_hook import (
    NonFiniteLossHook, non_finite_terms)


class NaNAt(BaseModel):
    """A linear model whose ``loss_cls`` turns NaN at step ``nan_step``."""

    def __init__(self, nan_step):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)
        self.nan_step = nan_step
        self.steps = 0

    def forward(self, x, mode='loss'):
        self.steps += 1
        loss = self.fc(x).pow(2).mean()
        if self.steps == self.nan_step:
            loss = loss * float('nan')
        return dict(loss_cls=loss, loss_bbox=self.fc.bias.abs().sum())


@pytest.fixture
def make_runner(toy_runner):
    """3 epochs of 4 iterations, a checkpoint every 2 iterations."""

    def make(work_dir, nan_step, hooks):
        return toy_runner(
            work_dir,
            model=NaNAt(nan_step),
            num_samples=8,
            max_epochs=3,
            lr=0.01,
            default_hooks=dict(
                checkpoint=dict(
                    type='CheckpointHook', interval=2, by_epoch=False)),
            custom_hooks=hooks,
            randomness=dict(seed=0))

    return make


def test_stops_before_checkpointing_the_nan_state(tmp_path, make_runner):
    atomic_save.install()
    runner = make_runner(tmp_path, 6, [dict(type='NonFiniteLossHook')])
    with pytest.raises(FloatingPointError) as info:
        runner.train()
    msg = str(info.value)
    # 4 iterations an epoch: step 6 is epoch 2, batch 2.
    assert 'iteration 6 (epoch 2, batch 2)' in msg
    assert 'loss_cls=nan' in msg and 'loss=nan' in msg
    assert 'loss_bbox' not in msg
    good = str(tmp_path / 'iter_4.pth')
    assert f'--resume {good}' in msg
    assert (tmp_path / 'last_checkpoint').read_text() == good
    assert not (tmp_path / 'iter_6.pth').exists()
    state = load_checkpoint_file(good)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values())


def test_without_the_hook_nan_is_checkpointed(tmp_path, make_runner):
    """Why the hook exists: upstream saves and points at NaN weights (which
    the checkpoint loader then refuses)."""
    make_runner(tmp_path, 6, []).train()
    last = (tmp_path / 'last_checkpoint').read_text()
    with pytest.raises(CheckpointReadError, match='NaN or infinite'):
        load_checkpoint_file(last)


def test_nan_before_any_checkpoint(tmp_path, make_runner):
    runner = make_runner(tmp_path, 1, [dict(type='NonFiniteLossHook')])
    with pytest.raises(FloatingPointError,
                       match='iteration 1 .*no checkpoint was written'):
        runner.train()


def test_registered_in_the_root_registry_for_every_scope():
    from mmdet.registry import HOOKS as MMDET_HOOKS
    from mmselfsup.registry import HOOKS as SELFSUP_HOOKS
    assert ROOT_HOOKS.get('NonFiniteLossHook') is NonFiniteLossHook
    assert MMDET_HOOKS.get('NonFiniteLossHook') is NonFiniteLossHook
    assert SELFSUP_HOOKS.get('NonFiniteLossHook') is NonFiniteLossHook
    assert NonFiniteLossHook.priority == 'HIGHEST'


def test_non_finite_terms():
    outputs = dict(
        loss=torch.tensor(float('inf')),
        loss_cls=torch.tensor([1.0, float('nan')]),
        loss_ok=torch.tensor(0.5),
        acc=torch.tensor(float('nan')),
        loss_float=float('-inf'))
    bad = non_finite_terms(outputs)
    assert list(bad) == ['loss', 'loss_cls', 'loss_float']
    assert bad['loss'] == math.inf and math.isnan(bad['loss_cls'])
    assert list(non_finite_terms(outputs, keys=['acc'])) == ['acc']
    assert non_finite_terms(None) == {}
