# Copyright (c) OpenMMLab. All rights reserved.
from .transfer_check import TransferCheckHook, summarize_model  # noqa: F401
from .swav_hooks import (PretrainMetaHook, SkippedImagesReportHook,  # noqa
                         SwAVCollapseGuardHook, SwAVQueueHook)
from .nan_guard import NonFiniteLossHook, non_finite_terms  # noqa: F401
from .epoch_seed import EpochSeedHook  # noqa: F401
from .require_load_from import RequireLoadFromHook  # noqa: F401
