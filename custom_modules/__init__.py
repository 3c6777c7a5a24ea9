"""Registered modules of the SwAV / InfoMin -> Faster R-CNN project, loaded
by configs through ``custom_imports``. The compat layer is installed before
anything imports ``mmcv.ops``; keep this import light."""
from .compat import install as _install_compat

_install_compat()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['datasets', 'engine', 'evaluation', 'models']
