"""Experiment grids (``configs/grids/*.yaml``) and their engine.

- :mod:`~ssdet.sweep.schema`: the grid file schema (pydantic);
- :mod:`~ssdet.sweep.grid`: loading a grid and expanding it into runs;
- :mod:`~ssdet.sweep.commands`: a run's command, recipe and record;
- :mod:`~ssdet.sweep.engine`: running the runs with doit;
- :mod:`~ssdet.sweep.report`: statuses, the summary table, the exit code.
"""
from .commands import SweepError, SweepOptions
from .engine import Sweep, adopt, run_state, run_sweep, select
from .grid import GridError, Run, expand, load_grid, parse_grid
from .report import exit_code, summary_table

__all__ = [
    'GridError', 'Run', 'Sweep', 'SweepError', 'SweepOptions', 'adopt',
    'exit_code', 'expand', 'load_grid', 'parse_grid', 'run_state', 'run_sweep',
    'select', 'summary_table'
]
