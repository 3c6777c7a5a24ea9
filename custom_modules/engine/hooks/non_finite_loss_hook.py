"""``NonFiniteLossHook``: stop at the first non-finite loss, before it is
checkpointed (docs/troubleshooting.md). Idea from detectron2's check in
``SimpleTrainer._write_metrics``."""
import math
from typing import Dict, Optional, Sequence

import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.hooks.hook import DATA_BATCH
from mmengine.registry import HOOKS

from .utils import all_reduce_scalar


def non_finite_terms(outputs: Optional[dict],
                     keys: Optional[Sequence[str]] = None) -> Dict[str, float]:
    """The entries of a ``train_step`` output that are NaN or infinite.

    Args:
        outputs (dict, optional): Log variables (name -> tensor or number).
        keys (Sequence[str], optional): Entries to check; None checks every
            entry whose name contains ``'loss'``. Defaults to None.

    Returns:
        dict: ``{name: value}`` of the non-finite entries, in output order
        (the first non-finite value of a tensor).
    """
    bad: Dict[str, float] = {}
    for name, value in (outputs or {}).items():
        wanted = name in keys if keys is not None else 'loss' in name
        if not wanted:
            continue
        if torch.is_tensor(value):
            finite = torch.isfinite(value.detach())
            if not finite.all():
                bad[name] = float(value.detach()[~finite].flatten()[0])
        elif isinstance(value, (int, float)) and not math.isfinite(value):
            bad[name] = float(value)
    return bad


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`FloatingPointError` at the first non-finite loss, first
    among the ``after_train_iter`` hooks, on every rank.

    Args:
        keys (Sequence[str], optional): Outputs to check; None checks every
            output whose name contains ``'loss'``. Defaults to None.
    """

    priority = 'HIGHEST'

    def __init__(self, keys: Optional[Sequence[str]] = None) -> None:
        self.keys = list(keys) if keys is not None else None

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        """Check ``outputs``; raise if a loss term is not finite."""
        bad = non_finite_terms(outputs, self.keys)
        if get_world_size() > 1:  # a collective: every rank takes part
            anywhere = all_reduce_scalar(bool(bad), runner.model, op='sum')
            if not bad and anywhere > 0:
                bad = {'(on another rank)': float('nan')}
        if not bad:
            return
        terms = ', '.join(f'{k}={v}' for k, v in bad.items())
        last = runner.message_hub.get_info('last_ckpt')
        where = (f'iteration {runner.iter + 1} (epoch {runner.epoch + 1}, '
                 f'batch {batch_idx + 1})')
        resume = (f'the last good checkpoint is {last}; after the change, '
                  'resume from it with tools/train.py CONFIG --resume '
                  f'{last}' if last else 'no checkpoint was written yet')
        raise FloatingPointError(
            f'non-finite loss at {where}: {terms}. Training stopped before '
            'this state was checkpointed; ' + resume + '. Usual causes: a '
            'learning rate too high for the batch size (lower '
            'optim_wrapper.optimizer.lr or lengthen the warm-up), no '
            'gradient clipping (optim_wrapper.clip_grad=dict(max_norm=35)), '
            'or a bad box in the annotations (python '
            'tools/analysis/check_dataset.py ANN_FILE).')
