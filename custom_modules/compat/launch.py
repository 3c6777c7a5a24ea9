"""Distributed training on CPUs: a DDP wrapper for CPU modules and
``BatchNormXd`` to stand in for SyncBN (both selected by ``ssdet.launch``).

Answers: mmengine 0.10.7 ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]``, which torch's DDP rejects for a CPU module.
"""
from typing import Optional

from mmengine.model import MMDistributedDataParallel
from mmengine.model.utils import _BatchNormXd
from mmengine.registry import MODEL_WRAPPERS, MODELS

# Per-process BatchNorm for inputs of any dimension (mmengine's revert of
# SyncBN), which mmengine 0.10.7 does not register under a name.
if 'BatchNormXd' not in MODELS.module_dict:
    MODELS.register_module('BatchNormXd', module=_BatchNormXd)


@MODEL_WRAPPERS.register_module()
class DeviceAgnosticDDP(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that drops ``device_ids`` for a module
    on the CPU."""

    def __init__(self, module, device_ids: Optional[list] = None, **kwargs):
        param = next(module.parameters(), None)
        if param is None or param.device.type == 'cpu':
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)
