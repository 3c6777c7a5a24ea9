"""Reseed the random generators at each epoch, so a resume is exact.

mmengine seeds ``random``, ``numpy`` and ``torch`` once, when the runner is
built, and does not save their states in checkpoints. A run resumed from
``epoch_2.pth`` therefore draws different crops, flips and sampled
proposals in epoch 3 than the uninterrupted run did, and ends with
different weights. This hook reseeds all three at the start of every epoch
with ``runner.seed + epoch``: what an epoch draws then depends only on the
seed and the epoch number, and ``--resume`` from an epoch checkpoint
continues bit for bit (with ``randomness.deterministic=True``; dataloader
workers: ``num_workers=0``, or ``persistent_workers=False``, whose workers
mmengine reseeds every epoch).

The per-epoch sampling order is already a function of ``seed + epoch``
(mmengine's ``DefaultSampler``); this extends the same rule to the
augmentations and to the model's own randomness. Registered in mmengine's
root ``HOOKS``::

    custom_hooks = [dict(type='EpochSeedHook')]
"""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch`` (0-based) of a run seeded with ``seed``.

    Returns:
        int: ``seed + epoch`` folded into ``[0, 2**32)`` (numpy's range).
    """
    return (int(seed) + int(epoch)) % (2**32)


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seed ``random``, ``numpy`` and ``torch`` with ``seed + epoch``.

    Runs last among the ``before_train_epoch`` hooks (priority ``LOWEST``),
    right before the epoch's first batch is loaded. Iteration-based loops
    have a single epoch, so this hook does not make their resumes exact.
    """

    priority = 'LOWEST'

    def before_train_epoch(self, runner) -> None:
        seed = epoch_seed(runner.seed, runner.epoch)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)  # also seeds every CUDA device
