"""``EffectiveBatchLrHook``: log the batch and the learning rates a run
really trains with. mmengine's ``Runner.scale_lr`` (``auto_scale_lr``) logs
the ratio but not the resulting lr."""
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict
from mmengine.registry import HOOKS


def per_process_batch(loader) -> int:
    """The images a process takes per step from ``loader``: its
    ``batch_size``, else its batch sampler's (mmdet's
    ``AspectRatioBatchSampler`` leaves ``DataLoader.batch_size`` None)."""
    if loader.batch_size is not None:
        return loader.batch_size
    return loader.batch_sampler.batch_size


@HOOKS.register_module()
class EffectiveBatchLrHook(Hook):
    """Log, before the first iteration, the global batch and each param
    group's lr after ``auto_scale_lr`` and before any warm-up (a scheduler's
    ``initial_lr``), e.g. ``effective batch 8 (4 processes x 2 images);
    auto_scale_lr on (base batch 2, lr x 4); lr of the param groups:
    2.00e-02, 2.00e-04``."""

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
        wrapper = runner.optim_wrapper
        wrappers = (
            wrapper.values()
            if isinstance(wrapper, OptimWrapperDict) else [wrapper])
        lrs = [
            float(g.get('initial_lr', g['lr'])) for w in wrappers
            for g in w.optimizer.param_groups
        ]
        runner.logger.info(
            f'effective batch {batch} ({runner.world_size} processes x '
            f'{per_process} images); {scaling}; lr of the param groups: ' +
            ', '.join(f'{lr:.2e}' for lr in lrs))
