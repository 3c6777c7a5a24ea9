# Copyright (c) OpenMMLab. All rights reserved.
"""Experiment grids: the schema of ``configs/grids/*.yaml``, the expansion of
a grid into runs, their commands, and the scheduler of ``tools/sweep.py``.

Not imported by ``custom_modules/__init__.py`` (configs never need it); import
the submodules directly.
"""
