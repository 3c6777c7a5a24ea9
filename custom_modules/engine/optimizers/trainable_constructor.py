"""An optimizer constructor that leaves frozen parameters out.

mmengine 0.10.7's ``DefaultOptimWrapperConstructor`` passes
``model.parameters()`` -- frozen ones included -- to the optimizer when no
``paramwise_cfg`` is given, and with one it logs a warning per frozen
parameter plus a line per trainable parameter, then makes one param group per
tensor. This subclass always takes the ``paramwise_cfg`` path (so frozen
parameters are never added), merges tensors with identical settings into one
group, and logs the resulting groups once as a table::

    group  #params  lr        weight_decay  members
    0      24       5.00e-03  5.00e-04      neck.* (8), rpn_head.* (6), ...
    1      30       5.00e-05  5.00e-04      backbone.layer2.* (10), ...
    2      15       5.00e-07  5.00e-04      backbone.conv1 ...

The lr rules themselves stay in ``paramwise_cfg.custom_keys`` (see
``configs/_base_/schedules/lr-3-5-7.py``).
"""
import logging
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence

from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS
from ...transfer import group_keys

#: Messages of the parent constructor that are replaced by one table.
_QUIET = ('is skipped since its requires_grad', 'paramwise_options -- ')


def merge_param_groups(groups: Sequence[dict]) -> List[dict]:
    """Merge param groups whose settings (everything but ``params``) are
    equal, keeping the order of first appearance.

    Args:
        groups (Sequence[dict]): Param groups, e.g. one per tensor.

    Returns:
        list[dict]: One group per distinct setting.
    """
    merged: Dict[str, dict] = {}
    for group in groups:
        options = {k: v for k, v in group.items() if k != 'params'}
        key = repr(sorted(options.items()))
        if key not in merged:
            merged[key] = dict(options, params=[])
        merged[key]['params'].extend(group['params'])
    return list(merged.values())


def param_group_table(groups: Sequence[dict],
                      model: nn.Module,
                      defaults: Optional[dict] = None) -> List[dict]:
    """Describe param groups by the names of their parameters.

    Args:
        groups (Sequence[dict]): Param groups (of an optimizer or not).
        model (nn.Module): The model that owns the parameters.
        defaults (dict, optional): Settings of groups that do not set them
            (the optimizer's ``defaults``). Defaults to None.

    Returns:
        list[dict]: Per group: ``group``, ``num_params`` (tensors),
        ``lr``, ``weight_decay`` and ``names`` (sorted parameter names).
    """
    names = {id(p): n for n, p in model.named_parameters()}
    defaults = defaults or {}
    rows = []
    for i, group in enumerate(groups):
        rows.append(
            dict(
                group=i,
                num_params=len(group['params']),
                lr=group.get('lr', defaults.get('lr')),
                weight_decay=group.get('weight_decay',
                                       defaults.get('weight_decay')),
                names=sorted(names.get(id(p), '?') for p in group['params'])))
    return rows


def format_table(rows: Sequence[dict], frozen: Sequence[str] = ()) -> str:
    """Render :func:`param_group_table` rows (and the frozen names)."""

    def num(v):
        return '-' if v is None else f'{v:.2e}'

    lines = [
        f'{"group":<6}{"#params":>8}  {"lr":<10}{"weight_decay":<14}'
        'members'
    ]
    for r in rows:
        lines.append(f'{r["group"]:<6}{r["num_params"]:>8}  '
                     f'{num(r["lr"]):<10}{num(r["weight_decay"]):<14}'
                     f'{group_keys(r["names"], depth=2, limit=12)}')
    if frozen:
        lines.append(f'{"frozen":<6}{len(frozen):>8}  (not in the '
                     f'optimizer) {group_keys(frozen, depth=2, limit=12)}')
    return '\n'.join(lines)


@contextmanager
def _quiet_parent_logs() -> Iterator[None]:
    logger = MMLogger.get_current_instance()

    def keep(record: logging.LogRecord) -> bool:
        return not any(q in str(record.getMessage()) for q in _QUIET)

    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` without frozen parameters.

    Accepts the same ``paramwise_cfg`` as the parent (``custom_keys`` with
    ``lr_mult``/``decay_mult``, ``norm_decay_mult``...). Parameters with
    ``requires_grad=False`` are never added, equal settings share one group,
    and the groups are logged once as a table.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        # A non-empty paramwise_cfg makes the parent call add_params(), the
        # only path that skips frozen parameters.
        if not self.paramwise_cfg:
            self.paramwise_cfg = dict(custom_keys={})

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module=None) -> None:
        """As the parent; at the top level, merge and log the groups."""
        if prefix:  # recursion of the parent
            super().add_params(params, module, prefix, is_dcn_module)
            return
        groups: List[dict] = []
        with _quiet_parent_logs():
            super().add_params(groups, module, prefix, is_dcn_module)
        merged = merge_param_groups(groups)
        params.extend(merged)
        frozen = [
            n for n, p in module.named_parameters() if not p.requires_grad
        ]
        rows = param_group_table(
            merged, module, dict(lr=self.base_lr, weight_decay=self.base_wd))
        print_log(
            'optimizer param groups:\n' + format_table(rows, frozen),
            logger='current')
