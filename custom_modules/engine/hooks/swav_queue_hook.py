"""``SwAVQueueHook``: start, feed and checkpoint the SwAV queue.

`SwAV <https://arxiv.org/abs/2006.09882>`_ keeps a queue of recent embeddings
so that the Sinkhorn-Knopp assignments of a small batch see enough samples.
Semantics of mmselfsup's ``SwAVHook`` and facebookresearch/swav's
``main_swav.py``, but device- and wrapper-agnostic, with an adaptive start,
and the queue kept in the checkpoint (configs/swav/README.md).
"""
import math
from typing import Dict, Optional, Sequence

import torch
from mmengine.dist import all_gather, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.hooks.hook import DATA_BATCH
from mmselfsup.registry import HOOKS

from .utils import (all_reduce_scalar, get_swav_loss, model_device,
                    unwrap_model)

#: Key of the queue state in an mmengine checkpoint.
CHECKPOINT_KEY = 'swav_queue'


@HOOKS.register_module()
class SwAVQueueHook(Hook):
    """Start, feed and checkpoint the SwAV queue; freeze the prototypes.

    Each rank holds ``queue_length / world_size`` embeddings per assignment
    crop, ``SwAVLoss`` pushes each batch and uses the queue once full, and
    ``use_queue`` is reset each epoch. The queue starts at
    ``epoch_queue_starts`` or adaptively, whichever comes first.

    Args:
        queue_length (int): Global queue length, trimmed to a multiple of
            the global batch (per-GPU batch x world size); 0 disables the
            queue. Defaults to 3840.
        epoch_queue_starts (int, optional): 0-based epoch at which the queue
            starts; None to start adaptively only. Defaults to 30.
        adaptive_loss_ratio (float, optional): Start once the loss (mean
            over ranks) is below this fraction of ``ln(K)``; None disables
            the adaptive start. Defaults to None.
        adaptive_patience (int): Consecutive iterations below the threshold
            before the adaptive start. Defaults to 100.
        batch_size (int, optional): Per-GPU batch size; None reads the train
            dataloader's. Defaults to None.
        crops_for_assign (Sequence[int], optional): Checked against the
            loss's; None takes the loss's. Defaults to None.
        feat_dim (int, optional): Checked against the prototypes' input
            size; None takes it from there. Defaults to None.
        frozen_layers_cfg (dict, optional): ``{name: iters}``: parameters
            whose name contains ``name`` are frozen for the first ``iters``
            iterations, e.g. ``dict(prototypes=5005)``. Defaults to None.
        loss_key (str): Output of ``train_step`` read by the adaptive start.
            Defaults to ``'loss'``.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 queue_length: int = 3840,
                 epoch_queue_starts: Optional[int] = 30,
                 adaptive_loss_ratio: Optional[float] = None,
                 adaptive_patience: int = 100,
                 batch_size: Optional[int] = None,
                 crops_for_assign: Optional[Sequence[int]] = None,
                 feat_dim: Optional[int] = None,
                 frozen_layers_cfg: Optional[Dict[str, int]] = None,
                 loss_key: str = 'loss') -> None:
        if queue_length < 0:
            raise ValueError(f'queue_length must be >= 0, got {queue_length}')
        if epoch_queue_starts is None and adaptive_loss_ratio is None:
            raise ValueError('SwAVQueueHook needs epoch_queue_starts, '
                             'adaptive_loss_ratio, or both')
        ratio = adaptive_loss_ratio
        if ratio is not None and not 0 < ratio <= 1:
            raise ValueError('adaptive_loss_ratio is a fraction of ln(K) in '
                             f'(0, 1], got {adaptive_loss_ratio}')
        if adaptive_patience < 1:
            raise ValueError('adaptive_patience must be >= 1')
        self.queue_length = queue_length
        self.epoch_queue_starts = epoch_queue_starts
        self.adaptive_loss_ratio = adaptive_loss_ratio
        self.adaptive_patience = adaptive_patience
        self.crops_for_assign = (
            list(crops_for_assign) if crops_for_assign is not None else None)
        self.batch_size = batch_size
        self.feat_dim = feat_dim
        self.frozen_layers_cfg = dict(frozen_layers_cfg or {})
        self.loss_key = loss_key

        self.queue: Optional[torch.Tensor] = None
        self.started_iter: Optional[int] = None  # None before the start
        self.adaptive_count = 0
        self.per_rank_length = 0
        self.num_prototypes = 0
        self._frozen: Dict[str, Optional[bool]] = dict.fromkeys(
            self.frozen_layers_cfg)
        self._gathered: Optional[Dict] = None

    def before_run(self, runner) -> None:
        """Read sizes from the model and dataloader; trim the length."""
        loss = get_swav_loss(runner.model)
        self.num_prototypes, feat_dim = loss.prototypes.weight.shape
        if self.feat_dim is not None and self.feat_dim != feat_dim:
            raise ValueError(f'SwAVQueueHook feat_dim={self.feat_dim} but '
                             f'the prototypes take {feat_dim} features')
        self.feat_dim = feat_dim
        crops = list(loss.crops_for_assign)
        if (self.crops_for_assign is not None
                and self.crops_for_assign != crops):
            raise ValueError(
                f'SwAVQueueHook crops_for_assign={self.crops_for_assign} '
                f'but the loss uses {crops}')
        self.crops_for_assign = crops

        self.batch_size = self.batch_size or runner.train_dataloader.batch_size
        if not self.batch_size:
            raise ValueError('SwAVQueueHook: the train dataloader has no '
                             'batch_size; pass batch_size (per GPU)')
        world_size = get_world_size()
        global_batch = self.batch_size * world_size
        length = self.queue_length - self.queue_length % global_batch
        if self.queue_length and not length:
            raise ValueError(
                f'queue_length={self.queue_length} is shorter than the '
                f'global batch {global_batch} ({self.batch_size} x '
                f'{world_size} processes); make it a multiple of the global '
                'batch')
        if length != self.queue_length:
            runner.logger.warning(
                f'SwAV queue_length {self.queue_length} trimmed to {length}, '
                f'a multiple of the global batch {global_batch}')
        self.queue_length = length
        self.per_rank_length = length // world_size
        if length:
            start = []
            if self.epoch_queue_starts is not None:
                start.append(f'at epoch {self.epoch_queue_starts}')
            if self.adaptive_loss_ratio is not None:
                start.append(f'once the loss < {self.adaptive_loss_ratio:g} x '
                             f'ln({self.num_prototypes}) for '
                             f'{self.adaptive_patience} iterations')
            runner.logger.info(
                f'SwAV queue: {length} embeddings ({self.per_rank_length} '
                f'per rank), starts {" or ".join(start)}')

    def _start_queue(self, runner, started_iter: int, why: str) -> None:
        shape = (len(self.crops_for_assign), self.per_rank_length,
                 self.feat_dim)
        self.queue = torch.zeros(shape, device=model_device(runner.model))
        if self.started_iter is None:
            self.started_iter = started_iter
        runner.logger.info(
            f'SwAV queue started {why} (epoch {runner.epoch}, iter '
            f'{started_iter}); it is used once full, after '
            f'{self.per_rank_length // self.batch_size} iterations')

    def _attach_queue(self, runner) -> None:
        loss = get_swav_loss(runner.model)
        loss.queue, loss.use_queue = self.queue, False

    def before_train_epoch(self, runner) -> None:
        """Start the queue if due; reset ``use_queue`` as SwAV does."""
        if self.queue_length and self.queue is None:
            if self.started_iter is not None:
                self._start_queue(runner, runner.iter, 'again after resuming')
            elif (self.epoch_queue_starts is not None
                  and runner.epoch >= self.epoch_queue_starts):
                self._start_queue(runner, runner.iter,
                                  f'at epoch {self.epoch_queue_starts}')
        self._attach_queue(runner)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Freeze or unfreeze the layers of ``frozen_layers_cfg``."""
        for layer, frozen_iters in self.frozen_layers_cfg.items():
            frozen = runner.iter < frozen_iters
            if self._frozen[layer] is frozen:
                continue
            params = [
                p for n, p in unwrap_model(runner.model).named_parameters()
                if layer in n
            ]
            if not params:
                raise ValueError(f'frozen_layers_cfg: no parameter name '
                                 f'contains "{layer}"')
            for param in params:
                param.requires_grad = not frozen
            if self._frozen[layer] is not None or not frozen:
                runner.logger.info(
                    f'SwAV: "{layer}" {"frozen" if frozen else "trainable"} '
                    f'from iter {runner.iter}')
            self._frozen[layer] = frozen

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        """Adaptive start; gather the queues if a checkpoint follows."""
        if (self.adaptive_loss_ratio is not None and self.queue_length
                and self.queue is None):
            value = all_reduce_scalar(
                (outputs or {}).get(self.loss_key, math.nan), runner.model)
            threshold = self.adaptive_loss_ratio * math.log(
                self.num_prototypes)
            self.adaptive_count = (
                self.adaptive_count + 1 if value < threshold else 0)
            if self.adaptive_count >= self.adaptive_patience:
                self._start_queue(
                    runner, runner.iter + 1,
                    f'adaptively (loss < {threshold:.4f} for '
                    f'{self.adaptive_patience} iterations)')
                self._attach_queue(runner)
        if self._iter_checkpoint_due(runner):
            self._gather(runner, runner.iter + 1)

    def after_train_epoch(self, runner) -> None:
        """Gather every rank's queue for the checkpoint of this epoch."""
        self._gather(runner, runner.iter)

    @staticmethod
    def _iter_checkpoint_due(runner) -> bool:
        return any(
            isinstance(h, CheckpointHook) and not h.by_epoch and (
                h.every_n_train_iters(runner, h.interval, h.save_begin) or (
                    h.save_last and h.is_last_train_iter(runner)))
            for h in runner.hooks)

    def _gather(self, runner, done_iters: int) -> None:
        """All-gather the per-rank queues (a collective on every rank)."""
        loss = get_swav_loss(runner.model)
        self.queue = loss.queue if loss.queue is not None else self.queue
        self._gathered = None
        if self.queue is not None:
            queues = all_gather(self.queue.detach().contiguous())
            self._gathered = dict(
                iter=done_iters,
                queues=torch.stack([q.cpu() for q in queues]))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the queue state (runs on rank 0 only)."""
        state = dict(
            started_iter=-1
            if self.started_iter is None else self.started_iter,
            adaptive_count=self.adaptive_count,
            queue_length=self.queue_length,
            world_size=get_world_size())
        if self._gathered is not None:
            saved_at = checkpoint.get('meta', {}).get('iter')
            if saved_at is not None and saved_at != self._gathered['iter']:
                runner.logger.warning(
                    f'SwAV queue saved with the checkpoint of iter '
                    f'{saved_at} was gathered at iter '
                    f'{self._gathered["iter"]}')
            state['queues'] = self._gathered['queues']
            state['queues_iter'] = self._gathered['iter']
        checkpoint[CHECKPOINT_KEY] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore this rank's queue and the start state."""
        state = checkpoint.get(CHECKPOINT_KEY)
        if state is None:
            return
        started = int(state.get('started_iter', -1))
        self.started_iter = None if started < 0 else started
        self.adaptive_count = int(state.get('adaptive_count', 0))
        self._gathered = None
        queues = state.get('queues')
        if queues is None or not self.queue_length:
            return
        mine = self._my_queue(runner, queues)
        if mine is None:
            return
        self.queue = mine.to(
            device=model_device(runner.model), dtype=torch.float32).clone()
        get_swav_loss(runner.model).queue = self.queue
        runner.logger.info(
            f'SwAV queue restored from the checkpoint ({tuple(mine.shape)} '
            f'on rank {get_rank()}, started at iter {self.started_iter})')

    def _my_queue(self, runner,
                  queues: torch.Tensor) -> Optional[torch.Tensor]:
        """This rank's part of the saved (processes, crops, length, dim)
        queues, redistributed when the number of processes changed."""
        world, rank = get_world_size(), get_rank()
        crops, length, dim = (len(self.crops_for_assign), self.per_rank_length,
                              self.feat_dim)
        if (queues.dim() != 4 or queues.shape[1] != crops
                or queues.shape[3] != dim
                or queues.shape[0] * queues.shape[2] != world * length):
            runner.logger.warning(
                f'SwAV queue in the checkpoint has shape '
                f'{tuple(queues.shape)} (processes, crops, length, dim) but '
                f'this run needs ({world}, {crops}, {length}, {dim}); '
                'starting from an empty queue, which refills before it is '
                'used')
            return None
        if queues.shape[0] != world:
            runner.logger.info(f'SwAV queue redistributed from '
                               f'{queues.shape[0]} to {world} processes')
        flat = queues.transpose(0, 1).reshape(crops, -1, dim)
        return flat[:, rank * length:(rank + 1) * length]
