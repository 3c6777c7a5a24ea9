"""``SkippedImagesReportHook``: how many unreadable images were skipped."""
from typing import List

from mmengine.hooks import Hook
from mmselfsup.registry import HOOKS

from ...datasets.transforms import find_skipping_loaders
from .utils import all_reduce_scalar


@HOOKS.register_module()
class SkippedImagesReportHook(Hook):
    """Log, at each epoch end, the images skipped as unreadable: the
    counters of the train set's ``LoadImageFromFileOrSkip`` summed over
    workers and ranks (since the start or ``--resume`` of this process)."""

    priority = 'BELOW_NORMAL'

    def __init__(self) -> None:
        self.total = 0
        self.per_epoch: List[int] = []

    def before_run(self, runner) -> None:
        if not find_skipping_loaders(runner.train_dataloader.dataset):
            runner.logger.warning(
                'SkippedImagesReportHook: the train pipeline has no '
                'LoadImageFromFileOrSkip, so no skipped image is counted')

    def after_train_epoch(self, runner) -> None:
        loaders = find_skipping_loaders(runner.train_dataloader.dataset)
        total = int(
            all_reduce_scalar(
                sum(loader.num_skipped for loader in loaders),
                runner.model,
                op='sum'))
        epoch_count, self.total = total - self.total, total
        self.per_epoch.append(epoch_count)
        log = runner.logger.warning if epoch_count else runner.logger.info
        log(f'epoch {runner.epoch + 1}: {epoch_count} unreadable image(s) '
            f'skipped ({total} since the start of this run)' +
            ('; the warnings above name the files' if epoch_count else ''))
