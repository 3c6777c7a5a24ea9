"""``SwAVCollapseGuardHook``: notice when the SwAV loss sits at ``ln(K)``."""
import math
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.hooks.hook import DATA_BATCH
from mmselfsup.registry import HOOKS

from .utils import all_reduce_scalar, get_swav_loss


class SwAVCollapseError(RuntimeError):
    """SwAV training collapsed to uniform assignments (loss at ln(K))."""


@HOOKS.register_module()
class SwAVCollapseGuardHook(Hook):
    """Detect a SwAV collapse: the loss (mean over ranks) stuck at ``ln(K)``,
    the loss of uniform Sinkhorn codes, for ``patience`` iterations.

    Args:
        warmup_iters (int): Iterations before the guard watches (the loss
            starts near ln(K)). Defaults to 1000.
        patience (int): Consecutive iterations in the band. Defaults to 500.
        tolerance (float): Half-width of the band as a fraction of ln(K).
            Defaults to 0.01.
        stop (bool): Raise :class:`SwAVCollapseError` on collapse (on every
            rank); else only log an error. Defaults to False.
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
        self.collapses: List[int] = []  # iterations of reported collapses

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
        value = all_reduce_scalar(
            (outputs or {}).get(self.loss_key, math.nan), runner.model)
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
