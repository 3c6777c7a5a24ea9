"""The only place that patches or reaches into upstream internals.

Each patch names the upstream version and issue it answers and is skipped
when the upstream fix is present. :func:`install` is idempotent and must run
before anything imports ``mmcv.ops``; ``custom_modules`` calls it first.
"""
import warnings
from typing import Dict

from . import ext_ops

# mmengine 0.10.7 imports pkg_resources (setuptools<81 is pinned for it),
# which warns on every start.
warnings.filterwarnings(
    'ignore', message='pkg_resources is deprecated', category=UserWarning)

_installed: Dict[str, bool] = {}


def install() -> Dict[str, bool]:
    """Apply every compatibility patch once.

    Returns:
        dict: For each patch, whether it is active in this process.
    """
    if not _installed:
        # mmcv._ext must exist before anything imports mmcv.ops.
        _installed['mmcv_ext_provider'] = ext_ops.install()
        from . import atomic_save, checkpoint, numpy_hue, registry
        _installed['safe_checkpoint_loading'] = checkpoint.install()
        _installed['atomic_checkpoint_save'] = atomic_save.install()
        _installed['numpy2_adjust_hue'] = numpy_hue.install()
        _installed['mmselfsup_registry'] = registry.install()
        from . import launch  # noqa: F401  registers DeviceAgnosticDDP
    return dict(_installed)
