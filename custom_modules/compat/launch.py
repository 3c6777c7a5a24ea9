"""Distributed training on CPUs: a DDP wrapper for CPU modules and a
BatchNorm that stands in for SyncBN.

mmengine 0.10.7's ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]``
to DistributedDataParallel, which torch rejects for a CPU module;
:class:`DeviceAgnosticDDP` drops them there. ``ssdet.launch`` (run by
``tools/train.py`` and ``tools/test.py`` before the runner is built) selects
this wrapper and the gloo backend on machines without CUDA, and offers
``BatchNormXd`` in place of SyncBN.
"""
from typing import Optional

from mmengine.model import MMDistributedDataParallel
from mmengine.model.utils import _BatchNormXd
from mmengine.registry import MODEL_WRAPPERS, MODELS

# What replaces SyncBN in a distributed run on CPUs, which cannot synchronise
# batch statistics: per-process BatchNorm, as mmengine's own revert of SyncBN
# in a run without a process group. A backbone's norms follow convolutions
# ('BN'); a neck's or head's may follow a linear layer, so there the class of
# that revert, which takes inputs of any dimension. mmengine 0.10.7 does not
# register it under a name.
if 'BatchNormXd' not in MODELS.module_dict:
    MODELS.register_module('BatchNormXd', module=_BatchNormXd)


@MODEL_WRAPPERS.register_module()
class DeviceAgnosticDDP(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also wraps CPU modules.

    torch's DDP takes ``device_ids`` only for single-device GPU modules; for
    a module on the CPU they must be None. mmengine always passes the local
    rank, so it is dropped here when the module lives on the CPU.
    """

    def __init__(self, module, device_ids: Optional[list] = None, **kwargs):
        param = next(module.parameters(), None)
        if param is None or param.device.type == 'cpu':
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)
