"""Hooks, one a file, registered in the scope that uses them (mmselfsup,
mmdet, or mmengine's root for both)."""
from .effective_batch_lr_hook import EffectiveBatchLrHook
from .epoch_seed_hook import EpochSeedHook
from .non_finite_loss_hook import NonFiniteLossHook
from .pretrain_meta_hook import PretrainMetaHook
from .require_load_from_hook import RequireLoadFromHook
from .skipped_images_hook import SkippedImagesReportHook
from .swav_collapse_guard_hook import SwAVCollapseError, SwAVCollapseGuardHook
from .swav_queue_hook import SwAVQueueHook
from .transfer_check_hook import TransferCheckHook

__all__ = [
    'EffectiveBatchLrHook', 'EpochSeedHook', 'NonFiniteLossHook',
    'PretrainMetaHook', 'RequireLoadFromHook', 'SkippedImagesReportHook',
    'SwAVCollapseError', 'SwAVCollapseGuardHook', 'SwAVQueueHook',
    'TransferCheckHook'
]
