"""``EpochSeedHook``: reseed the random generators at each epoch, so that a
resume is exact.

mmengine seeds ``random``, ``numpy`` and ``torch`` once, when the runner is
built, and does not checkpoint their states: a run resumed from
``epoch_2.pth`` draws other crops, flips and proposals in epoch 3 than the
uninterrupted run did. Reseeding with ``runner.seed + epoch`` at each epoch
start (the rule mmengine's ``DefaultSampler`` already follows for the order)
makes ``--resume`` from an epoch checkpoint continue bit for bit (with
``randomness.deterministic=True`` and ``num_workers=0`` or
``persistent_workers=False``). Registered in mmengine's root ``HOOKS``.
"""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of the 0-based ``epoch`` of a run seeded with ``seed``:
    ``seed + epoch`` folded into numpy's ``[0, 2**32)``."""
    return (int(seed) + int(epoch)) % (2**32)


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seed ``random``, ``numpy`` and ``torch`` with ``seed + epoch``, last
    among the ``before_train_epoch`` hooks (iteration-based loops have one
    epoch: their resumes stay inexact)."""

    priority = 'LOWEST'

    def before_train_epoch(self, runner) -> None:
        seed = epoch_seed(runner.seed, runner.epoch)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)  # also seeds every CUDA device
