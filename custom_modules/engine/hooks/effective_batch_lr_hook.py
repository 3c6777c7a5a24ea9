"""``EffectiveBatchLrHook``: log the batch and the learning rates a run
really trains with.

The lr of a recipe belongs to a batch size; with ``auto_scale_lr`` enabled,
mmengine's ``Runner.scale_lr`` multiplies every group's lr by
``world_size * batch_size / base_batch_size`` and logs the ratio, but not
the resulting lr. This hook logs, before the first iteration, the global
batch (processes x images per process), the ``auto_scale_lr`` setting and
each param group's lr after the scaling (the lr the schedulers start from,
before any warm-up). Registered in mmengine's root ``HOOKS``.
"""
from typing import List

from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict
from mmengine.registry import HOOKS


def group_lrs(optim_wrapper) -> List[float]:
    """The base lr of each param group of an optim wrapper (or of each
    wrapper of an ``OptimWrapperDict``): ``initial_lr`` where a scheduler
    recorded it, else ``lr``.

    Args:
        optim_wrapper (OptimWrapper | OptimWrapperDict): The built wrapper.

    Returns:
        list[float]: One lr per param group, in order.
    """
    wrappers = (
        list(optim_wrapper.values())
        if isinstance(optim_wrapper, OptimWrapperDict) else [optim_wrapper])
    return [
        float(group.get('initial_lr', group['lr'])) for wrapper in wrappers
        for group in wrapper.optimizer.param_groups
    ]


def per_process_batch(loader) -> int:
    """The images a process takes per step from ``loader``: its
    ``batch_size``, or its batch sampler's where one is given (mmdet's
    ``AspectRatioBatchSampler`` leaves ``DataLoader.batch_size`` None).

    Args:
        loader (torch.utils.data.DataLoader): The built train loader.

    Returns:
        int: The batch size of one process.
    """
    if loader.batch_size is not None:
        return loader.batch_size
    return loader.batch_sampler.batch_size


@HOOKS.register_module()
class EffectiveBatchLrHook(Hook):
    """Log the global batch and the scaled lr of each group at the start.

    The line reads, e.g. ``effective batch 8 (4 processes x 2 images);
    auto_scale_lr on (base batch 2, lr x 4); lr of the param groups:
    2.00e-02, 2.00e-04, 2.00e-06``.
    """

    priority = 'LOW'

    def before_train(self, runner) -> None:
        per_process = per_process_batch(runner.train_dataloader)
        batch = runner.world_size * per_process
        scale = runner.auto_scale_lr or {}
        if scale.get('enable', False):
            base = scale['base_batch_size']
            scaling = (f'auto_scale_lr on (base batch {base}, lr x '
                       f'{batch / base:g})')
        else:
            scaling = 'auto_scale_lr off (lr as configured)'
        lrs = ', '.join(f'{lr:.2e}' for lr in group_lrs(runner.optim_wrapper))
        runner.logger.info(
            f'effective batch {batch} ({runner.world_size} processes x '
            f'{per_process} images); {scaling}; lr of the param groups: '
            f'{lrs}')
