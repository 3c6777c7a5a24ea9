"""``TrainableOptimWrapperConstructor``: an optimizer constructor that
leaves frozen parameters out (mmengine 0.10.7's default constructor keeps
them when no ``paramwise_cfg`` is given) and logs the groups as one table.
The lr rules stay in ``paramwise_cfg.custom_keys``."""
import logging
from typing import Dict, List, Optional, Sequence

from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from terminaltables import AsciiTable
from torch import nn

from ...transfer import group_keys

#: Messages of the parent constructor that are replaced by one table.
_QUIET = ('is skipped since its requires_grad', 'paramwise_options -- ')


def merge_param_groups(groups: Sequence[dict]) -> List[dict]:
    """Merge param groups whose settings (all but ``params``) are equal,
    keeping the order of first appearance."""
    merged: Dict[str, dict] = {}
    for group in groups:
        options = {k: v for k, v in group.items() if k != 'params'}
        key = repr(sorted(options.items()))
        merged.setdefault(key, dict(options, params=[]))
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
    return [
        dict(
            group=i,
            num_params=len(group['params']),
            lr=group.get('lr', defaults.get('lr')),
            weight_decay=group.get('weight_decay',
                                   defaults.get('weight_decay')),
            names=sorted(names.get(id(p), '?') for p in group['params']))
        for i, group in enumerate(groups)
    ]


def format_table(rows: Sequence[dict], frozen: Sequence[str] = ()) -> str:
    """Render :func:`param_group_table` rows, and the names of the frozen
    parameters, as an ASCII table."""

    def num(v):
        return '-' if v is None else f'{v:.2e}'

    table = [['group', '#params', 'lr', 'weight_decay', 'members']]
    table += [[
        str(r['group']),
        str(r['num_params']),
        num(r['lr']),
        num(r['weight_decay']),
        group_keys(r['names'], limit=12)
    ] for r in rows]
    if frozen:
        table.append(['frozen', str(len(frozen)), '-', '-',
                      group_keys(frozen, limit=12)])
    return AsciiTable(table).table


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` without frozen parameters.

    Accepts the parent's ``paramwise_cfg``. Parameters with
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

        def keep(record: logging.LogRecord) -> bool:
            return not any(q in str(record.getMessage()) for q in _QUIET)

        groups: List[dict] = []
        logger = MMLogger.get_current_instance()
        logger.addFilter(keep)
        try:
            super().add_params(groups, module, prefix, is_dcn_module)
        finally:
            logger.removeFilter(keep)
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
