"""What happened to each run of a sweep: statuses, the summary table and
the exit code of ``tools/sweep.py``."""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from ..tables import text_table
from .grid import Run

#: Status of a run in the summary.
DONE = 'done'  # ran now and finished
SKIPPED = 'skipped'  # finished before with the same recipe
FAILED = 'failed'  # non-zero exit, no artifact, or cannot be built
BLOCKED = 'blocked'  # a run it needs did not finish
STALE = 'stale'  # finished before with another recipe; kept, not reused
INTERRUPTED = 'interrupted'  # stopped by Ctrl-C
NOT_RUN = 'not run'  # the sweep stopped before it
DRY_RUN = 'dry-run'  # --dry-run: would run


@dataclass
class Result:
    """The outcome of one run."""
    run: Run
    status: str = NOT_RUN
    log: Optional[str] = None
    artifact: Optional[str] = None
    message: str = ''
    seconds: float = 0.0
    command: Optional[List[str]] = None


def exit_code(results: Sequence[Result]) -> int:
    """0 if every run finished (now or before), 130 if interrupted, else 1."""
    statuses = {r.status for r in results}
    if INTERRUPTED in statuses:
        return 130
    if statuses & {FAILED, BLOCKED, NOT_RUN, STALE}:
        return 1
    return 0


def summary_table(results: Sequence[Result]) -> str:
    """A text table: stage/run, status, time and the log or a note, then
    the count of each status."""
    rows = []
    for r in results:
        note = r.log if r.status in (FAILED, DONE, INTERRUPTED) else ''
        if r.status == FAILED and r.message:
            note = f'{r.log} ({r.message})'
        elif r.status in (BLOCKED, STALE):
            note = r.message
        elif r.status == SKIPPED:
            note = r.artifact or ''
        seconds = f'{r.seconds:.0f} s' if r.seconds else ''
        rows.append((r.run.key, r.status, seconds, note))
    counts: Dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return (text_table(('run', 'status', 'time', 'log / note'), rows) + '\n' +
            ', '.join(f'{n} {s}' for s, n in counts.items()))
