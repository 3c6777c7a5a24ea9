"""Registered modules of the SwAV / InfoMin -> Faster R-CNN project.

Configs load this package with ``custom_imports``. The compatibility layer is
installed first, before anything imports ``mmcv.ops``. Keep this import light:
no matplotlib, no data scanning.
"""
from .compat import install as _install_compat

_install_compat()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['datasets', 'engine', 'evaluation', 'models']
