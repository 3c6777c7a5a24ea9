"""Training-step throughput of a config, on one fixed batch.

:class:`TrainStepBench` builds a real mmengine ``Runner`` from the config
(model, optim wrapper, param schedulers, default and custom hooks, under the
config's ``default_scope``), performs the set-up of ``Runner.train()`` up to
the first epoch, and then drives the train loop's own ``run_iter`` with one
batch that the config's train pipeline made and its ``collate_fn`` collated
before timing. Each timed iteration is therefore exactly a training
iteration (``before_train_iter`` hooks, ``model.train_step(data,
optim_wrapper)``, ``after_train_iter`` hooks: the SwAV queue hook, the
collapse guard, the logger, the lr schedulers, ...) without data loading,
which ``benchmark.py pipeline`` measures on its own.

Why not ``runner.train()`` with a timing hook: two runners are then timed in
turn, never alternately, so the load of a shared machine would not cancel
out of their ratio. Driving ``run_iter`` keeps the runner's code path and
allows alternated windows.

What differs from ``tools/train.py``, for speed measurements only:
pretrained weights are not loaded (``init_cfg`` of type ``Pretrained`` or
``VerifiedPretrained``, ``load_from``), there is no validation, the data
loader is a stand-in that only provides ``batch_size`` and length, and on
the CPU an ``AmpOptimWrapper`` becomes an ``OptimWrapper`` (mmengine's AMP
needs a GPU).
"""
import copy
import os.path as osp
from functools import partial
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.registry import DefaultScope

from .data import build_pipeline, train_pipeline_cfg

#: ``init_cfg`` types that load weights from a file.
PRETRAINED_INIT_TYPES = ('Pretrained', 'VerifiedPretrained')


def _drop_pretrained(node: Any, path: str, dropped: List[str]) -> None:
    if isinstance(node, dict):
        init_cfg = node.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get(
                'type') in PRETRAINED_INIT_TYPES:
            node['init_cfg'] = None
            dropped.append(f'{path}.init_cfg' if path else 'init_cfg')
        for key, value in node.items():
            if key != 'init_cfg':
                _drop_pretrained(value, f'{path}.{key}' if path else key,
                                 dropped)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            _drop_pretrained(value, f'{path}.{i}', dropped)


def prepare_config(cfg: Config,
                   batch_size: Optional[int] = None,
                   device: str = 'cpu',
                   amp: bool = False,
                   amp_dtype: str = 'bfloat16',
                   cudnn_benchmark: bool = False,
                   seed: Optional[int] = 0) -> List[str]:
    """Adapt a training config for a speed measurement, in place.

    Args:
        cfg (Config): A training config.
        batch_size (int, optional): Per-device batch; None keeps the
            config's. Defaults to None.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to ``'cpu'``.
        amp (bool): Train with ``AmpOptimWrapper`` (CUDA only).
            Defaults to False: the config decides, except on the CPU.
        amp_dtype (str): Autocast dtype with ``amp``: ``'bfloat16'`` or
            ``'float16'`` (with dynamic loss scaling). Defaults to
            ``'bfloat16'``.
        cudnn_benchmark (bool): Set ``env_cfg.cudnn_benchmark``.
            Defaults to False.
        seed (int, optional): ``randomness.seed`` of every side, so that
            the sides start from comparable random weights (the cost of
            NMS and sampling depends on them). None keeps the config's.
            Defaults to 0.

    Returns:
        list[str]: What was changed, one line each.

    Raises:
        ValueError: ``amp`` on the CPU, or an unknown ``amp_dtype``.
    """
    notes: List[str] = []
    if batch_size is not None:
        cfg.train_dataloader.batch_size = int(batch_size)
    dropped: List[str] = []
    _drop_pretrained(cfg.model, 'model', dropped)
    if dropped:
        notes.append('pretrained weights not loaded: ' + ', '.join(dropped))
    cfg.load_from = None
    cfg.resume = False
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    wrapper = cfg.optim_wrapper
    if amp:
        if not device.startswith('cuda'):
            raise ValueError('--amp needs --device cuda: mmengine\'s '
                             'AmpOptimWrapper runs on GPUs only')
        if amp_dtype not in ('bfloat16', 'float16'):
            raise ValueError(
                f'amp dtype must be bfloat16 or float16, got {amp_dtype}')
        wrapper.type = 'AmpOptimWrapper'
        wrapper.dtype = amp_dtype
        wrapper.setdefault('loss_scale', 'dynamic')
        notes.append(f'AMP: AmpOptimWrapper, autocast {amp_dtype}')
    elif wrapper.get('type') == 'AmpOptimWrapper' and not device.startswith(
            'cuda'):
        wrapper.type = 'OptimWrapper'
        for key in ('loss_scale', 'dtype', 'use_fsdp'):
            wrapper.pop(key, None)
        notes.append('AmpOptimWrapper -> OptimWrapper (AMP needs a GPU)')
    if cudnn_benchmark:
        cfg.setdefault('env_cfg', {})['cudnn_benchmark'] = True
    if seed is not None:
        cfg.randomness = dict(seed=int(seed), deterministic=False)
    return notes


def collate_fn_of(cfg: Config):
    """The config's train ``collate_fn`` as a function (as mmengine's
    ``Runner.build_dataloader`` resolves it)."""
    from mmengine.registry import FUNCTIONS
    collate_cfg = copy.deepcopy(
        cfg.train_dataloader.get('collate_fn', dict(type='pseudo_collate')))
    collate_type = collate_cfg.pop('type')
    collate_cfg.pop('_scope_', None)
    if callable(collate_type):
        return partial(collate_type, **collate_cfg)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        fn = FUNCTIONS.get(collate_type)
    if fn is None:
        raise KeyError(f'collate_fn {collate_type!r} of {cfg.filename} is '
                       'not registered')
    return partial(fn, **collate_cfg)


def build_batch(cfg: Config, samples: Sequence[dict],
                batch_size: Optional[int] = None) -> Any:
    """One collated training batch made by the config's own pipeline.

    Args:
        cfg (Config): The training config.
        samples (Sequence[dict]): Data infos as the config's dataset yields
            them (``img_path``, and ``instances`` etc. for detection), see
            :func:`ssdet.benchmark.data.write_samples`. Cycled when
            fewer than the batch.
        batch_size (int, optional): None: the config's train batch size.

    Returns:
        The collated batch (what a ``DataLoader`` of the config yields).
    """
    batch_size = batch_size or cfg.train_dataloader.batch_size
    pipeline = build_pipeline(cfg, train_pipeline_cfg(cfg))
    items = []
    for i in range(batch_size):
        result = pipeline(copy.deepcopy(dict(samples[i % len(samples)])))
        if result is None:
            raise RuntimeError(
                f'the train pipeline of {cfg.filename} dropped sample '
                f'{samples[i % len(samples)].get("img_path")}')
        items.append(result)
    return collate_fn_of(cfg)(items)


def _pin(batch: Any) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.pin_memory()
    if isinstance(batch, dict):
        return {k: _pin(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_pin(v) for v in batch)
    return batch


class TrainStepBench:
    """A runner built from a config, stepped on one fixed batch.

    Args:
        cfg (Config): Config prepared by :func:`prepare_config`.
        batch: A collated batch (:func:`build_batch`).
        work_dir (str): Scratch work dir (logs, the dumped config).
        name (str): Unique experiment name in this process.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to ``'cpu'``.
        channels_last (bool): Convert the model to channels-last memory
            format. Defaults to False.
        max_iters (int): Iterations the loop is sized for (warm-up and timed
            ones together). Defaults to 10000.
        log_level (str): Level of the runner's logger. Defaults to
            ``'WARNING'``.
    """

    def __init__(self,
                 cfg: Config,
                 batch: Any,
                 work_dir: str,
                 name: str,
                 device: str = 'cpu',
                 channels_last: bool = False,
                 max_iters: int = 10000,
                 log_level: str = 'WARNING') -> None:
        from mmengine.runner import Runner
        from torch.utils.data import DataLoader
        self.cfg = cfg
        self.name = name
        self.device = torch.device(device)
        self.batch_size = int(cfg.train_dataloader.batch_size)
        # Only batch_size and len() of the loader are read (by hooks and the
        # lr schedulers); the batch itself is fixed.
        loader = DataLoader(
            range(self.batch_size * max_iters), batch_size=self.batch_size)
        visualizer = copy.deepcopy(cfg.get('visualizer'))
        if isinstance(visualizer, dict):
            # one visualizer per runner (the configs name theirs
            # 'visualizer', which two runners would share)
            visualizer['name'] = name
        runner = Runner(
            model=cfg.model,
            work_dir=osp.join(work_dir, name),
            train_dataloader=loader,
            train_cfg=cfg.train_cfg,
            optim_wrapper=cfg.optim_wrapper,
            param_scheduler=cfg.get('param_scheduler'),
            default_hooks=cfg.get('default_hooks'),
            # the benchmark never loads weights (load_from is None)
            custom_hooks=[
                h for h in cfg.get('custom_hooks') or []
                if h.get('type') != 'RequireLoadFromHook'
            ],
            auto_scale_lr=cfg.get('auto_scale_lr'),
            data_preprocessor=cfg.get('data_preprocessor'),
            launcher='none',
            env_cfg=cfg.get('env_cfg', dict(dist_cfg=dict(backend='nccl'))),
            log_processor=cfg.get('log_processor'),
            log_level=log_level,
            visualizer=visualizer,
            default_scope=cfg.get('default_scope', 'mmengine'),
            randomness=cfg.get('randomness', dict(seed=0)),
            experiment_name=name,
            cfg=cfg)
        self.runner = runner
        model = self.module
        model.to(self.device)
        if channels_last:
            model.to(memory_format=torch.channels_last)
        self.batch = _pin(batch) if self.device.type == 'cuda' else batch
        self._setup()
        self.idx = 0

    @property
    def module(self) -> torch.nn.Module:
        """The model inside any wrapper."""
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def _setup(self) -> None:
        """``Runner.train()`` up to the first iteration (no validation, no
        checkpoint loading), then ``before_train``/``before_train_epoch``."""
        runner = self.runner
        loop = runner.train_loop  # builds the loop (and nothing to load)
        runner.optim_wrapper = runner.build_optim_wrapper(
            runner.optim_wrapper)
        runner.scale_lr(runner.optim_wrapper, runner.auto_scale_lr)
        if runner.param_schedulers is not None:
            runner.param_schedulers = runner.build_param_scheduler(
                runner.param_schedulers)
        runner.call_hook('before_run')
        if hasattr(self.module, 'init_weights'):
            self.module.init_weights()
        runner.optim_wrapper.initialize_count_status(runner.model, loop.iter,
                                                     loop.max_iters)
        runner.call_hook('before_train')
        runner.call_hook('before_train_epoch')
        runner.model.train()
        self._by_epoch = hasattr(loop, 'max_epochs')
        self.loop = loop

    def step(self) -> None:
        """One training iteration, hooks included."""
        if self._by_epoch:
            self.loop.run_iter(self.idx, self.batch)
        else:
            self.loop.run_iter(self.batch)
        self.idx += 1

    def count_flops(self) -> float:
        """FLOPs of one training iteration (forward and backward), counted
        by ``torch.utils.flop_counter`` (a multiply-add is 2 FLOPs)."""
        from torch.utils.flop_counter import FlopCounterMode
        counter = FlopCounterMode(display=False)
        with counter:
            self.step()
        return float(counter.get_total_flops())

    def state(self) -> Dict[str, object]:
        """Things that change the cost of a step, e.g. the SwAV queue."""
        out: Dict[str, object] = dict(iters_run=self.idx)
        loss = getattr(getattr(self.module, 'head', None), 'loss', None)
        if loss is not None and hasattr(loss, 'use_queue'):
            out['swav_queue'] = ('in use' if loss.use_queue else 'filling'
                                 if loss.queue is not None else 'off')
        return out

    def close(self) -> None:
        """Run ``after_train_epoch``-free teardown: close the visualizer and
        log files (``after_run``)."""
        self.runner.call_hook('after_run')
