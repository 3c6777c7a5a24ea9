"""``SwAVCollapseGuardHook``: notice when the SwAV loss sits at ``ln(K)``."""
import math
from typing import List, Optional, Sequence

from mmengine.hooks import Hook
from mmselfsup.registry import HOOKS

from .utils import get_swav_loss, mean_across_ranks, model_device, unwrap_model

DATA_BATCH = Optional[Sequence[dict]]


class SwAVCollapseError(RuntimeError):
    """SwAV training collapsed to uniform assignments (loss at ln(K))."""


@HOOKS.register_module()
class SwAVCollapseGuardHook(Hook):
    """Detect a SwAV collapse: the loss stuck at ``ln(K)``.

    With uniform Sinkhorn codes every image is assigned equally to all ``K``
    prototypes, the swapped-prediction loss equals ``ln(K)`` and the backbone
    stops learning. When, after ``warmup_iters``, the loss (mean over ranks)
    stays within ``tolerance * ln(K)`` of ``ln(K)`` for ``patience``
    iterations, an error naming the known remedies is logged; with
    ``stop=True`` :class:`SwAVCollapseError` ends the run on every rank.

    Args:
        warmup_iters (int): Iterations before the guard watches (the loss
            starts near ln(K)). Defaults to 1000.
        patience (int): Consecutive iterations in the band. Defaults to 500.
        tolerance (float): Half-width of the band as a fraction of ln(K).
            Defaults to 0.01.
        stop (bool): Raise :class:`SwAVCollapseError` on collapse. Defaults
            to False.
        num_prototypes (int, optional): ``K``; None reads the model's
            prototypes. Defaults to None.
        loss_key (str): Output of ``train_step`` to watch. Defaults to
            ``'loss'``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 warmup_iters: int = 1000,
                 patience: int = 500,
                 tolerance: float = 0.01,
                 stop: bool = False,
                 num_prototypes: Optional[int] = None,
                 loss_key: str = 'loss') -> None:
        if patience < 1 or tolerance <= 0:
            raise ValueError('patience must be >= 1 and tolerance > 0')
        self.warmup_iters = warmup_iters
        self.patience = patience
        self.tolerance = tolerance
        self.stop = stop
        self.num_prototypes = num_prototypes
        self.loss_key = loss_key
        self.count = 0
        self.reported = False
        #: Iterations at which a collapse was reported.
        self.collapses: List[int] = []

    def before_run(self, runner) -> None:
        if self.num_prototypes is None:
            weight = get_swav_loss(runner.model).prototypes.weight
            self.num_prototypes = int(weight.shape[0])
        self.ln_k = math.log(self.num_prototypes)

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if runner.iter < self.warmup_iters:
            return
        value = mean_across_ranks(
            outputs, self.loss_key, model_device(unwrap_model(runner.model)))
        if abs(value - self.ln_k) <= self.tolerance * self.ln_k:
            self.count += 1
        else:
            if self.reported:
                runner.logger.info(
                    f'SwAV loss left the ln(K) band at iter {runner.iter} '
                    f'({value:.4f})')
            self.count, self.reported = 0, False
        if self.count < self.patience or self.reported:
            return
        self.reported = True
        self.collapses.append(runner.iter)
        message = (
            f'SwAV collapse at iter {runner.iter}: the loss has stayed '
            f'within {self.tolerance:.1%} of ln(K) = {self.ln_k:.4f} (K = '
            f'{self.num_prototypes} prototypes) for {self.count} '
            f'iterations (now {value:.4f}). The Sinkhorn codes are uniform: '
            'every image is assigned equally to all prototypes, so the '
            'backbone learns nothing. Known remedies: a smaller Sinkhorn '
            'epsilon (model.head.loss.epsilon, e.g. 0.03 instead of 0.05); '
            'mixed precision with dynamic loss scaling (optim_wrapper '
            "type='AmpOptimWrapper', loss_scale='dynamic', or --amp); "
            'starting the queue later (SwAVQueueHook epoch_queue_starts, or '
            'its adaptive start, adaptive_loss_ratio).')
        runner.logger.error(message)
        if self.stop:
            raise SwAVCollapseError(
                message + ' Stopped (SwAVCollapseGuardHook stop=True); '
                'resume from the last good checkpoint after the change.')
