"""Fixtures of the custom_modules tests: a real mmengine ``Runner`` training
a toy model, for the hooks and patches that act on whole runs."""
import itertools

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

_names = itertools.count()


class ToyModel(BaseModel):
    """A linear layer on 2-d inputs with a squared ``loss``."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def forward(self, x, mode='loss'):
        return dict(loss=self.fc(x).pow(2).mean())


@pytest.fixture
def toy_runner():
    """``toy_runner(work_dir, model=None, num_samples=4, max_epochs=1,
    lr=0.1, **runner_kwargs)``: a Runner training ``model`` (a
    :class:`ToyModel` by default) on random 2-d samples, 2 a batch, in
    order, with SGD; every Runner gets its own experiment name."""

    def make(work_dir,
             model=None,
             num_samples=4,
             max_epochs=1,
             lr=0.1,
             **kwargs):
        kwargs.setdefault('experiment_name', f'toy_{next(_names)}')
        return Runner(
            model=model or ToyModel(),
            work_dir=str(work_dir),
            train_dataloader=dict(
                dataset=[dict(x=torch.rand(2)) for _ in range(num_samples)],
                batch_size=2,
                sampler=dict(type='DefaultSampler', shuffle=False),
                collate_fn=dict(type='default_collate')),
            train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
            **kwargs)

    return make
