"""``TransferCheckHook``: fine-tune with the input and backbone that the
backbone was pretrained with (both reports this project reproduces fed BGR
images to a backbone pretrained on RGB)."""
from functools import partial
from logging import INFO, WARNING

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from torch import nn

from ...conventions import ConventionsError, PretrainConventions
from ...transfer import TransferError
from .utils import unwrap_model

_log = partial(print_log, logger='current')


@HOOKS.register_module()
class TransferCheckHook(Hook):
    """Before training, compare the data preprocessor (mean, std, channel
    order) and backbone (depth, norm, stem) with the pretraining recorded in
    the checkpoint (:class:`~custom_modules.conventions.PretrainConventions`),
    and check that the weights ``VerifiedPretrained`` loaded are in place.

    Args:
        on_mismatch (str): ``'error'`` raises :class:`TransferError` on a
            mismatch, ``'warn'`` logs it. Defaults to ``'error'``.
        require_pretrained (bool): Raise when the backbone was not loaded by
            ``VerifiedPretrained``; else training from scratch is logged.
            Defaults to False.
        check_weights (bool): Check that the transferred weights are still in
            place (skipped when ``load_from``/``resume`` replaced them).
            Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, on_mismatch: str = 'error',
                 require_pretrained: bool = False, check_weights: bool = True):
        if on_mismatch not in ('error', 'warn'):
            raise ValueError(
                f'on_mismatch must be "error" or "warn", got {on_mismatch!r}')
        self.on_mismatch = on_mismatch
        self.require_pretrained = require_pretrained
        self.check_weights = check_weights

    def before_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        backbone = getattr(model, 'backbone', None)
        info = getattr(backbone, 'transfer_info', None)
        if info is None:
            init_cfg = getattr(backbone, 'init_cfg', None) or {}
            kind = init_cfg.get('type') if isinstance(init_cfg, dict) else ''
            msg = ('TransferCheckHook: the backbone was not loaded by '
                   f'VerifiedPretrained (init_cfg type {kind!r})')
            if self.require_pretrained:
                raise TransferError(msg +
                                    '; set model.backbone.init_cfg=dict(type='
                                    '"VerifiedPretrained", checkpoint=PATH)')
            _log(msg + ': no transfer check (training from scratch?)',
                 level=WARNING if kind == 'Pretrained' else INFO)
            return
        ckpt = info['checkpoint']
        if self.check_weights:
            self._check_weights(runner, backbone, info)
        try:
            pretrain = PretrainConventions.from_meta(info.get('meta'))
        except ConventionsError as e:
            raise TransferError(
                f'TransferCheckHook: meta["pretrain_cfg"] of {ckpt} is not a '
                f'valid record ({e}); re-convert the weights with '
                'tools/model_converters/convert.py') from e
        if pretrain is None:
            _log(f'TransferCheckHook: {ckpt} records no pretraining config '
                 '(meta["pretrain_cfg"] or meta["cfg"]); channel order, '
                 'mean/std and stem are NOT checked. Add them with '
                 'tools/model_converters/convert.py.',
                 level=WARNING)
            return
        finetune = PretrainConventions.from_model(model)
        problems = pretrain.compare(finetune)
        if not problems:
            both = pretrain.to_dict().keys() & finetune.to_dict().keys()
            checked = sorted(both - {'basis', 'channel_order'})
            _log('TransferCheckHook: fine-tuning agrees with the pretraining '
                 f'of {ckpt} ({", ".join(checked)})')
            return
        msg = (f'TransferCheckHook: {ckpt} was pretrained with other '
               'settings than this fine-tuning uses:\n  - ' +
               '\n  - '.join(problems) +
               '\nFix the config (e.g. model.data_preprocessor.bgr_to_rgb, '
               'mean, std; model.backbone), or run anyway with '
               'custom_hooks TransferCheckHook(on_mismatch="warn").')
        if self.on_mismatch == 'error':
            raise TransferError(msg)
        _log(msg, level=WARNING)

    @staticmethod
    def _check_weights(runner, backbone: nn.Module, info: dict) -> None:
        if runner.cfg.get('load_from') or runner.cfg.get('resume'):
            return  # a full checkpoint legitimately replaced the weights
        state = backbone.state_dict()
        changed = [
            k for k, v in info.get('fingerprint', {}).items()
            if k in state and abs(float(state[k].double().sum()) - v) > 1e-6 *
            max(1.0, abs(v))
        ]
        if changed:
            raise TransferError(
                f'TransferCheckHook: backbone weights loaded from '
                f'{info["checkpoint"]} were overwritten before training '
                f'({", ".join(changed[:3])}...): another init_cfg or '
                'init_weights ran after VerifiedPretrained.')
