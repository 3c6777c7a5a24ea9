"""Experiment grids (``configs/grids/*.yaml``): the schema, the expansion
into runs and the scheduler behind ``tools/sweep.py``."""
