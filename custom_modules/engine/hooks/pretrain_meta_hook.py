"""``PretrainMetaHook``: record how the backbone was pretrained."""
from mmengine.hooks import Hook
from mmselfsup.registry import HOOKS

from ...conventions import PretrainConventions


@HOOKS.register_module()
class PretrainMetaHook(Hook):
    """Write the run's :class:`~custom_modules.conventions.PretrainConventions`
    to ``checkpoint['meta']['pretrain_cfg']``, which the detector's
    ``TransferCheckHook`` checks fine-tuning against."""

    priority = 'LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        record = PretrainConventions.from_model(runner.model).to_dict()
        record['basis'] = 'the pretraining run (PretrainMetaHook)'
        checkpoint.setdefault('meta', {})['pretrain_cfg'] = record
