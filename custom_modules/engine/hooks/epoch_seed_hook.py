"""``EpochSeedHook``: reseed the random generators at each epoch, so that a
resume is exact (docs/troubleshooting.md, "Bit-exact resume")."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import set_random_seed


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seed ``random``, ``numpy`` and ``torch`` with ``seed + epoch`` (mod
    2**32), last among the ``before_train_epoch`` hooks, as mmengine's
    ``DefaultSampler`` does for the order (iteration-based loops have one
    epoch: their resumes stay inexact)."""

    priority = 'LOWEST'

    def before_train_epoch(self, runner) -> None:
        set_random_seed((int(runner.seed) + int(runner.epoch)) % 2**32)
