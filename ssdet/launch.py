"""Launching on this machine: what stands in the way, and gloo on CPUs.

The toolkit side of ``tools/train.py`` and ``tools/test.py``; the registered
pieces a training process needs are in ``custom_modules/compat/launch.py``.

:func:`check_launch` runs in ``tools/train.py`` and ``tools/test.py`` before
anything is built, and ``tools/dist_*.sh`` run it once (``--preflight``)
before they start any process. It gathers everything that keeps a config
from running as written on this machine into one :class:`LaunchError`:
mixed precision or SyncBN without CUDA, more processes than GPUs, a cluster
launcher without CUDA. The message names each setting and where it comes
from (the config, ``--cfg-options`` or ``--amp``) and ends with the
``--cfg-options`` that make the config run here; :func:`exit_with_error`
prints it once per machine. SyncBN becomes per-process BatchNorm there:
``BN`` in a backbone, else ``BatchNormXd`` (registered by
``custom_modules.compat.launch``), mmengine's BatchNorm for inputs of any
dimension.

mmengine 0.10.7 assumes CUDA in two places a CPU user hits at once:
``_init_dist_pytorch`` calls ``torch.cuda.set_device`` before creating the
process group, and ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to
DistributedDataParallel, which torch rejects for a CPU module.
:func:`prepare_launch` creates the process group with gloo instead (the
``nccl`` of every upstream ``default_runtime`` is a launch default, not a
recipe) and wraps the model with ``DeviceAgnosticDDP``
(``custom_modules/compat/launch.py``). On a CUDA machine it changes
nothing.
"""
import argparse
import os
import shlex
import sys
import textwrap
import time
from typing import Any, Dict, List, NoReturn, Optional, Tuple, Union

import torch
from mmengine.config import Config, DictAction

SYNC_BN_TYPES = ('SyncBN', 'MMSyncBN')
# AmpOptimWrapper's own arguments: OptimWrapper takes none of them.
AMP_ONLY_KEYS = ('loss_scale', 'dtype', 'use_fsdp')
# Per launcher, the variables that hold a process's rank on its machine and
# the number of processes started there.
LOCAL_ENV = dict(
    pytorch=('LOCAL_RANK', 'LOCAL_WORLD_SIZE'),
    slurm=('SLURM_LOCALID', 'SLURM_NTASKS_PER_NODE'),
    mpi=('OMPI_COMM_WORLD_LOCAL_RANK', 'OMPI_COMM_WORLD_LOCAL_SIZE'))


class LaunchError(RuntimeError):
    """A config or launch option that cannot work on this machine."""


def add_launch_arguments(parser: argparse.ArgumentParser,
                         script: str) -> None:
    """``--cfg-options``, ``--launcher``, ``--preflight`` and
    ``--local-rank``: the arguments ``tools/train.py`` and ``tools/test.py``
    share; ``script`` is the launch script that runs the preflight."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_epochs=2 '
        'model.backbone.init_cfg.checkpoint=work_dirs/swav/backbone.pth')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--preflight',
        action='store_true',
        help='only check that this machine can run the config with this '
        '--launcher and its number of processes here (LOCAL_WORLD_SIZE for '
        f'pytorch), then exit; {script} does so before it starts the '
        'processes')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def config_for_launch(args: argparse.Namespace,
                      training: bool = True,
                      checkpoint: Optional[str] = None) -> Optional[Config]:
    """The config of ``tools/train.py`` or ``tools/test.py`` made ready for
    ``args.launcher`` on this machine, or None after ``--preflight``.

    Loads ``args.config``, applies ``--work-dir`` and ``--cfg-options``,
    runs :func:`check_launch` and :func:`prepare_launch`; an unknown key, a
    missing file (the config, or ``checkpoint`` when given) or a config
    this machine cannot run ends the process with one ``error:`` line
    (:func:`exit_with_error`, once per machine).
    """
    from .config import ConfigKeyError, apply_cli_options, load_config
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    try:
        if checkpoint is not None and not os.path.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint {checkpoint} not found')
        cfg = load_config(args.config)
        cfg.launcher = args.launcher
        apply_cli_options(cfg, args.config, args.work_dir, args.cfg_options)
        check_launch(
            cfg,
            args.launcher,
            local_world_size(args.launcher),
            amp=getattr(args, 'amp', False),
            cfg_options=args.cfg_options,
            training=training)
        if args.preflight:
            return None
        prepare_launch(cfg, args.launcher)
    except (ConfigKeyError, LaunchError, FileNotFoundError) as e:
        exit_with_error(f'error: {e}', args.launcher)
    return cfg


def local_rank(launcher: str) -> int:
    """This process's rank on its machine, as ``launcher`` set it."""
    if launcher not in LOCAL_ENV:
        return 0
    return int(os.environ.get(LOCAL_ENV[launcher][0], 0))


def local_world_size(launcher: str) -> int:
    """How many processes ``launcher`` starts on this machine."""
    if launcher not in LOCAL_ENV:
        return 1
    return int(os.environ.get(LOCAL_ENV[launcher][1], 1))


def exit_with_error(message: str,
                    launcher: str = 'none',
                    wait: float = 60.) -> NoReturn:
    """Print ``message`` once per machine and exit with code 1.

    Every process of a launch meets the same error before the process group
    exists. The one of local rank 0 prints it; the others say nothing and
    wait for the launcher to stop them (torchrun, srun with
    ``--kill-on-bad-exit`` and mpirun stop all processes once one fails):
    exiting first, they could get the one that speaks stopped before it has.

    Args:
        message (str): What went wrong and what to do.
        launcher (str): The ``--launcher`` of this process. Defaults to
            ``'none'``.
        wait (float): Seconds the silent processes wait before they exit
            with code 1 themselves. Defaults to 60.
    """
    if local_rank(launcher) == 0:
        print(message, file=sys.stderr, flush=True)
    else:
        time.sleep(wait)
    sys.exit(1)


def check_launch(cfg: Config,
                 launcher: str = 'none',
                 nproc: int = 1,
                 amp: bool = False,
                 cfg_options: Optional[Dict[str, Any]] = None,
                 training: bool = True) -> None:
    """Refuse, in one message, a config this machine cannot run as written.

    Args:
        cfg (Config): The config with ``--cfg-options`` merged and ``--amp``
            not yet applied.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
            Defaults to ``'none'``.
        nproc (int): Processes started on this machine. Defaults to 1.
        amp (bool): Whether ``--amp`` was given. Defaults to False.
        cfg_options (dict, optional): The parsed ``--cfg-options``, to tell a
            setting of the config from one given on the command line.
            Defaults to None.
        training (bool): Whether the model trains; a test builds no optimizer
            and its BatchNorm layers do not synchronise. Defaults to True.

    Raises:
        LaunchError: Lists every setting that cannot work here, where it
            comes from and what to do; when ``--cfg-options`` can make the
            config run here, the message ends with them.
    """
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    given = cfg_options or {}
    problems: List[str] = []  # each says what to do...
    options: List[str] = []  # ...or is fixed by these --cfg-options
    fixed = 0

    def from_cli(key: str) -> bool:
        parts = key.split('.')
        return any('.'.join(parts[:i]) in given
                   for i in range(1, len(parts) + 1))

    def refuse(setting: str, key: str, why: str,
               fix: Union[List[str], str]) -> None:
        nonlocal fixed
        if from_cli(key):
            problems.append(f'{setting} (from --cfg-options) {why}: leave '
                            'it out of --cfg-options')
        elif isinstance(fix, list):
            problems.append(f'{setting} (from the config) {why}')
            fixed += 1
            options.extend(fix)
        else:
            problems.append(f'{setting} (from the config) {why}: write a '
                            'config that inherits this one and sets\n' +
                            textwrap.indent(fix, ' ' * 6))

    if launcher in ('slurm', 'mpi') and not gpus:
        problems.append(
            f'--launcher {launcher} starts one process per GPU, and this '
            'machine has none: start CPU processes with '
            'tools/dist_train.sh CONFIG N (torchrun, gloo)')
    if gpus and nproc > gpus:
        problems.append(
            f'{nproc} processes asked for, one per GPU: start at most '
            f'{gpus}')
    if training and not gpus:
        if amp:
            problems.append(
                '--amp asks for mixed precision (AmpOptimWrapper), which '
                'needs a CUDA GPU: leave --amp out')
        wrapper = cfg.get('optim_wrapper') or {}
        if wrapper.get('type') == 'AmpOptimWrapper':
            refuse("optim_wrapper.type='AmpOptimWrapper'",
                   'optim_wrapper.type',
                   'is mixed precision, which needs a CUDA GPU',
                   _without_amp(wrapper, cfg.get('default_scope')))
    if training and not gpus and launcher != 'none':
        # Without a process group mmengine reverts SyncBN to BatchNorm.
        for path, norm in _sync_bn_paths(cfg.get('model'), 'model'):
            per_process = ('BN' if path.startswith('model.backbone.') else
                           'BatchNormXd')
            refuse(f"{path}.type='{norm}'", f'{path}.type',
                   'synchronises batch statistics across GPUs, which gloo '
                   'on CPUs cannot', [f'{path}.type={per_process}'])
        if cfg.get('sync_bn'):
            refuse(f"sync_bn='{cfg.sync_bn}'", 'sync_bn',
                   'turns BatchNorm into SyncBN, which gloo on CPUs cannot '
                   'run', ['sync_bn=None'])
    if not problems:
        return

    processes = f'{nproc} process' + ('es' if nproc != 1 else '')
    lines = [
        f'{cfg.filename or "The config"} cannot run as written on this '
        f'machine: {processes} asked for, {gpus} CUDA '
        f'GPU{"s" if gpus != 1 else ""} here.'
    ] + [f'  - {problem}' for problem in problems]
    if options:
        on = '' if gpus else f' on {processes} (CPU)'
        also = 'do the above and ' if fixed < len(problems) else ''
        lines += [
            f'To run it here{on}, {also}add'
            f'{" to your --cfg-options" if given else ""}:',
            '  --cfg-options ' + ' '.join(options)
        ]
    raise LaunchError('\n'.join(lines))


def prepare_launch(cfg: Config, launcher: str) -> None:
    """Make ``cfg`` launchable with ``launcher`` on this machine.

    Without CUDA and with ``launcher='pytorch'``, the process group is
    created here with the gloo backend (so mmengine's ``init_dist`` with its
    ``torch.cuda.set_device`` is skipped) and the model is wrapped by
    :class:`DeviceAgnosticDDP`. Call :func:`check_launch` first.

    Args:
        cfg (Config): The config, changed in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Raises:
        LaunchError: ``launcher='pytorch'`` outside torchrun.
    """
    if launcher == 'pytorch' and 'RANK' not in os.environ:
        raise LaunchError(
            '--launcher pytorch expects the processes torchrun starts (RANK, '
            'WORLD_SIZE...): use tools/dist_train.sh CONFIG N')
    if launcher != 'pytorch' or torch.cuda.is_available():
        return
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


def finish_launch() -> None:
    """End the process group once the run is over and its runner is dropped.

    All ranks meet first (rank 0 alone saves the last checkpoint; a rank
    that closed its connections meanwhile can abort the other), then the
    group ends and a collection frees what still holds it (mmengine's
    runner and the DDP wrapper sit in reference cycles) while the
    interpreter is alive: a gloo group destroyed at interpreter exit can
    abort with "terminate called without an active exception".
    """
    import gc

    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    gc.collect()


def _sync_bn_paths(node: Any, path: str) -> List[Tuple[str, str]]:
    """``(key path, type)`` of every SyncBN norm config below ``node``."""
    if isinstance(node, dict):
        if node.get('type') in SYNC_BN_TYPES:
            return [(path, node['type'])]
        items = node.items()
    elif isinstance(node, (list, tuple)):
        items = enumerate(node)
    else:
        return []
    return [
        found for key, value in items
        for found in _sync_bn_paths(value, f'{path}.{key}')
    ]


def _without_amp(wrapper: dict,
                 default_scope: Optional[str]) -> Union[List[str], str]:
    """``--cfg-options`` that turn ``wrapper`` into a plain OptimWrapper.

    ``--cfg-options`` cannot remove a key, and OptimWrapper takes none of
    :data:`AMP_ONLY_KEYS`, so the wrapper is replaced (``_delete_=True``)
    and the rest of it restated. When a value cannot be written on the
    command line (a key with a dot, an empty dict, a string ``DictAction``
    would read as something else), the replacement is returned as config
    text instead.

    Returns:
        list[str] | str: The options, or the config text
        ``optim_wrapper = dict(...)``.
    """

    def plain(node):
        if isinstance(node, dict):
            return {
                k: plain(v)
                for k, v in node.items()
                if not (k == '_scope_' and v == default_scope)
            }
        return node

    kept = plain({
        k: v
        for k, v in wrapper.items() if k not in AMP_ONLY_KEYS + ('type', )
    })
    new = dict(_delete_=True, type='OptimWrapper', **kept)
    pairs = _flatten(new, 'optim_wrapper')
    if pairs is not None:
        options = [f'{key}={_render(value)}' for key, value in pairs]
        parser = argparse.ArgumentParser()
        parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        parsed = parser.parse_args(['--cfg-options'] + options)
        if parsed.cfg_options == dict(pairs):
            return [shlex.quote(option) for option in options]
    return Config(dict(optim_wrapper=new)).pretty_text.strip()


def _flatten(node: dict, prefix: str) -> Optional[List[Tuple[str, Any]]]:
    """``(dotted key, value)`` pairs of ``node``, or None if a key or an
    empty dict cannot be written as a ``--cfg-options`` key."""
    pairs = []
    for key, value in node.items():
        if '.' in str(key):
            return None
        if isinstance(value, dict):
            below = _flatten(value, f'{prefix}.{key}') if value else None
            if below is None:
                return None
            pairs += below
        else:
            pairs.append((f'{prefix}.{key}', value))
    return pairs


def _render(value: Any) -> str:
    """``value`` as ``DictAction`` reads it back."""
    if isinstance(value, list):
        return '[' + ','.join(_render(v) for v in value) + ']'
    if isinstance(value, tuple):
        return '(' + ','.join(_render(v) for v in value) + ')'
    return str(value)
