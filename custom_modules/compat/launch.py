"""Launching on machines without CUDA: gloo instead of NCCL, no AMP.

mmengine 0.10.7 assumes CUDA in two places a CPU user hits at once:
``_init_dist_pytorch`` calls ``torch.cuda.set_device`` before creating the
process group, and ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to
DistributedDataParallel, which torch rejects for a CPU module. ``--amp``
builds ``AmpOptimWrapper``, whose GradScaler needs a GPU.

:func:`prepare_launch` is called by ``tools/train.py`` and ``tools/test.py``
before the runner is built. On a CUDA machine it changes nothing.
"""
import os
from typing import Optional

import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


class LaunchError(RuntimeError):
    """A launch option that cannot work on this machine."""


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


def check_amp(amp: bool) -> None:
    """Refuse ``--amp`` without CUDA, with a message saying why."""
    if amp and not torch.cuda.is_available():
        raise LaunchError(
            '--amp needs a CUDA GPU (mixed precision with dynamic loss '
            'scaling runs on the GPU); no GPU is visible on this machine. '
            'Run without --amp on the CPU.')


def prepare_launch(cfg, launcher: str) -> None:
    """Make ``cfg`` launchable with ``launcher`` on this machine.

    Without CUDA and with ``launcher='pytorch'``, the process group is
    created here with the gloo backend (so mmengine's ``init_dist`` with its
    ``torch.cuda.set_device`` is skipped) and the model is wrapped by
    :class:`DeviceAgnosticDDP`.

    Args:
        cfg (Config): The config, changed in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise LaunchError(
            f'--launcher {launcher} needs CUDA GPUs, and none is visible. '
            'For multi-process training on CPUs use '
            'tools/dist_train.sh (torchrun, --launcher pytorch, gloo).')
    import torch.distributed as dist
    if cfg.get('env_cfg') is None:
        cfg.env_cfg = dict()
    if cfg.env_cfg.get('dist_cfg') is None:
        cfg.env_cfg.dist_cfg = dict()
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']))
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    if wrapper.get('type', 'MMDistributedDataParallel') in (
            'MMDistributedDataParallel', 'DeviceAgnosticDDP'):
        wrapper['type'] = 'DeviceAgnosticDDP'
        wrapper.setdefault('broadcast_buffers', False)
        wrapper.setdefault('find_unused_parameters',
                           cfg.get('find_unused_parameters', False))
        cfg.model_wrapper_cfg = wrapper
    if cfg.get('sync_bn') or _uses_syncbn(cfg.get('model', {})):
        raise LaunchError(
            'this config uses SyncBN, which needs CUDA. Use the CPU variant '
            'of the config, or add --cfg-options with norm_cfg.type=BN.')


def _uses_syncbn(node) -> bool:
    if isinstance(node, dict):
        if node.get('type') in ('SyncBN', 'MMSyncBN'):
            return True
        return any(_uses_syncbn(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(_uses_syncbn(v) for v in node)
    return False
