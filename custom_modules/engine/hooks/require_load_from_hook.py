"""``RequireLoadFromHook``: refuse to start a run that must continue from
existing weights but was given none."""
from mmengine.hooks import Hook
from mmselfsup.registry import HOOKS


@HOOKS.register_module()
class RequireLoadFromHook(Hook):
    """Stop before training when neither ``load_from`` nor ``--resume`` is
    set (e.g. the InfoMin retraining would train from random weights).

    Args:
        hint (str): What to pass, shown in the error. Defaults to
            ``'pass --cfg-options load_from=CHECKPOINT'``.
    """

    priority = 'VERY_HIGH'

    def __init__(
            self,
            hint: str = 'pass --cfg-options load_from=CHECKPOINT') -> None:
        self.hint = hint

    def before_run(self, runner) -> None:
        if getattr(runner, '_load_from', None) or getattr(
                runner, '_resume', False):
            return
        raise RuntimeError(
            'this config continues training from existing weights, but '
            f'load_from is not set (and this is not a resumed run): '
            f'{self.hint}')
