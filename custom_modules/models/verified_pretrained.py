"""``VerifiedPretrained``: mmengine's ``Pretrained`` init that cannot fail
silently.

mmengine's ``PretrainedInit`` loads with ``strict=False``, so a checkpoint
whose keys carry another prefix loads nothing without a word. This one logs
a key report and raises ``TransferError`` unless every weight of the module
transfers; the checkpoint's ``meta`` stays on the module as
``transfer_info`` for ``TransferCheckHook``::

    init_cfg=dict(type='VerifiedPretrained', checkpoint='swav.pth',
                  prefix='backbone.')
"""
import logging
from typing import Dict, Iterable, Optional

from mmengine.logging import print_log
from mmengine.model.weight_init import update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS
from torch import nn

from ..transfer import (TransferError, extract_state_dict, match_state_dict,
                        verify_report)


def fingerprint(module: nn.Module,
                keys: Iterable[str],
                num: int = 8) -> Dict[str, float]:
    """Sums of ``num`` loaded tensors spread over ``keys``, for
    ``TransferCheckHook`` to catch a later init overwriting them."""
    keys = [k for k in keys if not k.endswith('num_batches_tracked')]
    if not keys:
        return {}
    step = max(1, len(keys) // num)
    chosen = keys[::step][:num - 1] + [keys[-1]]
    state = module.state_dict()
    return {k: float(state[k].double().sum()) for k in chosen}


@WEIGHT_INITIALIZERS.register_module(name='VerifiedPretrained')
class VerifiedPretrainedInit:
    """Load a sub-module's weights from a checkpoint and verify the keys.

    Args:
        checkpoint (str, optional): Checkpoint file (any mmengine scheme).
            Required: None raises.
        prefix (str): Prefix of the module's keys in the file; ``''`` uses
            every key. Defaults to ``'backbone.'``.
        map_location (str): As for ``torch.load``. Defaults to ``'cpu'``.
        allow_missing (Iterable[str]): Key prefixes of the module that may be
            absent from the file (new layers). Defaults to ().
    """

    def __init__(self,
                 checkpoint: Optional[str] = None,
                 prefix: str = 'backbone.',
                 map_location: str = 'cpu',
                 allow_missing: Iterable[str] = ()):
        if prefix and not prefix.endswith('.'):
            prefix += '.'
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.map_location = map_location
        self.allow_missing = tuple(allow_missing)

    def __call__(self, module: nn.Module) -> None:
        from mmengine.runner.checkpoint import CheckpointLoader
        if not self.checkpoint:
            raise TransferError(
                f'{type(module).__name__}.init_cfg (VerifiedPretrained) has '
                'no checkpoint: pass one with --cfg-options '
                'model.backbone.init_cfg.checkpoint=PATH, or set '
                'model.backbone.init_cfg=None to train from scratch')
        ckpt = CheckpointLoader.load_checkpoint(
            self.checkpoint, map_location=self.map_location)
        file_state = extract_state_dict(ckpt)
        report = match_state_dict(module.state_dict(), file_state, self.prefix)
        print_log(
            f'VerifiedPretrained: {type(module).__name__} <- '
            f'{self.checkpoint} (prefix {self.prefix!r}): '
            f'{report.summary()}',
            logger='current',
            level=logging.INFO)
        verify_report(report, self.checkpoint, self.prefix, file_state,
                      self.allow_missing)
        loaded = {k: file_state[self.prefix + k] for k in report.matched}
        module_state = module.state_dict()
        wrong_dtype = [(k, v.dtype) for k, v in loaded.items()
                       if module_state[k].is_floating_point() and not getattr(
                           v, 'is_floating_point', lambda: False)()]
        if wrong_dtype:
            key, dtype = wrong_dtype[0]
            raise TransferError(
                f'{self.checkpoint}: {len(wrong_dtype)} weights are not '
                f'floating point (first: {self.prefix}{key} is {dtype}); '
                'the file does not hold trained weights for this backbone.')
        module.load_state_dict(loaded, strict=False)
        module.transfer_info = dict(
            checkpoint=self.checkpoint,
            prefix=self.prefix,
            meta=ckpt.get('meta') if isinstance(ckpt, dict) else None,
            matched=len(report.matched),
            missing=list(report.missing),
            unexpected=list(report.unexpected),
            fingerprint=fingerprint(module, report.matched))
        if hasattr(module, '_params_init_info'):
            update_init_info(
                module,
                init_info=f'{type(self).__name__}: load {self.prefix}* from '
                f'{self.checkpoint} (verified)')
