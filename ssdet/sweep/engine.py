"""Running the runs of a grid with doit (https://pydoit.org).

Each run is a doit task: its action builds the run's command, runs it as
an argument list (no shell) with its output appended to
``WORK_DIR/sweep.log``, checks the artifact and writes the run's ``.done``
record; ``task_dep`` orders it after the run it needs; doit's ``uptodate``
hook asks whether the record still matches the recipe the grid gives now
(:func:`~ssdet.sweep.commands.stale_reason`). doit then brings the order,
failure isolation (``--continue``: a failed run's dependents are not
started, every other run goes on) and parallel runs (``num_process``
threads); the report hooks fill the summary.

Whether a run is done is its ``.done`` record, written atomically when the
run finishes, and not doit's database, which doit writes once when an
invocation ends (a sweep killed after days would forget every run it
finished): doit gets a backend that keeps nothing.

- a run with a current record is skipped;
- a train run with a ``last_checkpoint`` but no record was interrupted: it
  resumes (``--resume``);
- a run whose record no longer matches (another recipe, a rewritten input,
  its artifact gone) is *stale*: its result is not reused and not
  overwritten; it is reported, and what needs it blocked, unless
  ``rerun_stale`` is given: then its work dir is moved aside to
  ``WORK_DIR.stale-TIMESTAMP`` and it runs afresh (a finished train run is
  never "resumed" into doing nothing).
"""
import datetime
import fnmatch
import os
import os.path as osp
import subprocess
import threading
import time
from typing import Callable, Collection, Dict, List, Optional, Sequence, Set

from doit.cmd_base import TaskLoader2
from doit.dependency import JsonDB
from doit.doit_cmd import DoitMain
from doit.exceptions import TaskFailed, UnmetDependency
from doit.task import Task

from .commands import (LOG_FILE, STALE_SUFFIX, Resolver, RunError, SweepError,
                       SweepOptions, build_command, fingerprint,
                       finished_artifact, marker_path, read_marker, shell_line,
                       stale_reason, write_marker)
from .grid import Run
from .report import (BLOCKED, DONE, DRY_RUN, FAILED, INTERRUPTED, SKIPPED,
                     STALE, Result)

Executor = Callable[[List[str], Dict[str, str], str], int]

_RUNNING: Set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()


def passive_openmp(env: Dict[str, str]) -> Dict[str, str]:
    """``env`` with ``OMP_WAIT_POLICY=PASSIVE`` unless the user set a
    policy. For runs that share one machine's cores: with the default
    (spinning) policy the idle OpenMP threads of one run hold the cores the
    other needs; two 2-thread fine-tunings side by side on 2 cores took
    427 s instead of 114 s (docs/benchmarks.md, "The demo's runs on 2
    cores"). The policy changes no number."""
    return dict(env, OMP_WAIT_POLICY=os.environ.get('OMP_WAIT_POLICY',
                                                    'PASSIVE'))


def subprocess_executor(cmd: List[str],
                        env: Dict[str, str],
                        log_path: str,
                        show: Optional[Callable[[str], bool]] = None) -> int:
    """Run ``cmd`` (an argument list, no shell), appending its output to
    ``log_path``; return its exit code.

    Args:
        cmd (list[str]): The command.
        env (dict): Environment variables added to this process's.
        log_path (str): The run's log.
        show (callable, optional): Lines of the output for which
            ``show(line)`` is true are printed too (e.g. the epoch lines of
            a training). Defaults to None (all output goes to the log).
    """
    os.makedirs(osp.dirname(osp.abspath(log_path)), exist_ok=True)
    with open(log_path, 'a') as log:
        log.write(f'==== {datetime.datetime.now():%Y-%m-%d %H:%M:%S} $ '
                  f'{shell_line(cmd, env)}\n')
        log.flush()
        if show is not None:
            env = dict(env, PYTHONUNBUFFERED='1')
        proc = subprocess.Popen(
            cmd,
            env={
                **os.environ,
                **env
            },
            stdout=log if show is None else subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True)
        with _RUNNING_LOCK:
            _RUNNING.add(proc)
        try:
            for line in proc.stdout if show is not None else ():
                log.write(line)
                if show(line):
                    print('  ' + line, end='', flush=True)
            return proc.wait()
        except KeyboardInterrupt:
            _terminate([proc])
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)


def _terminate(procs: List[subprocess.Popen], timeout: float = 30) -> None:
    """Stop commands (after Ctrl-C): SIGTERM, SIGKILL after ``timeout``."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()


class _NoState(JsonDB):
    """A doit backend that keeps nothing: a run's state is its record."""

    def __init__(self, name, codec, *, module_name=None):
        self.name, self.codec, self._db = name, codec, {}

    def dump(self):
        pass


class _Loader(TaskLoader2):
    """Hands doit the tasks and settings of one sweep."""

    def __init__(self, tasks: List[Task], doit_config: dict) -> None:
        super().__init__()
        self._tasks, self._doit_config = tasks, doit_config

    def setup(self, opt_values):
        pass

    def load_doit_config(self):
        return self._doit_config

    def load_tasks(self, cmd, pos_args):
        return self._tasks


# ---------------------------------------------------------------- selection
def select(runs: List[Run], patterns: Sequence[str]) -> List[Run]:
    """Runs matching any of ``patterns`` plus the runs they need.

    A pattern with a ``/`` is matched (fnmatch) against ``stage/run-name``,
    one without against the stage name and against the run name.

    Raises:
        SweepError: No run matches a pattern.
    """
    if not patterns:
        return list(runs)
    chosen = set()
    for pattern in patterns:
        hits = [
            run for run in runs
            if (fnmatch.fnmatchcase(run.key, pattern) if '/' in
                pattern else fnmatch.fnmatchcase(run.stage.name, pattern)
                or fnmatch.fnmatchcase(run.name, pattern))
        ]
        if not hits:
            examples = ', '.join(run.key for run in runs[:3])
            raise SweepError(f'--only {pattern!r} matches no run (runs are '
                             f'named stage/run, e.g. {examples})')
        for run in hits:
            while run is not None:
                chosen.add(run.key)
                run = run.upstream
    return [run for run in runs if run.key in chosen]


def run_state(run: Run, opts: SweepOptions) -> str:
    """``new``, ``started`` (a work dir, no record), ``done`` or ``stale``
    (``done?`` when that cannot be told: an input of the run cannot be
    resolved or its record is unreadable)."""
    if not osp.isfile(marker_path(run)):
        return 'started' if osp.isdir(run.work_dir) else 'new'
    try:
        why = stale_reason(run, read_marker(run), opts)
    except (RunError, KeyError):
        return 'done?'
    return 'done' if why is None else 'stale'


def adopt(run: Run, opts: SweepOptions) -> str:
    """Record the output that ``run`` would make, which exists already
    (e.g. a data set made before the grid ran), as its result, so that it
    is not made again; return the artifact.

    Raises:
        RunError: The artifact does not exist.
    """
    artifact = finished_artifact(run, Resolver(run))
    command, _ = build_command(run, opts, Resolver(run, python=opts.python))
    write_marker(
        run,
        command,
        artifact,
        0.0,
        fingerprint(run, opts),
        note='an existing output, recorded, not made by the sweep')
    return artifact


# ------------------------------------------------------------------- sweep
class Sweep:
    """Runs (or prints, with ``dry_run``) the given runs of a grid.

    Args:
        runs (list[Run]): Runs in stage order (from :func:`select`).
        opts (SweepOptions): Launcher settings.
        executor (callable): ``executor(cmd, env, log_path) -> exit code``.
            Defaults to :func:`subprocess_executor`.
        echo (callable): Where progress lines go. Defaults to ``print``.
        rerun_stale (bool): Move the work dir of a stale run aside and run
            it afresh, instead of reporting it. Defaults to False.
        force (Collection[str]): Keys (``stage/run``) of runs to run afresh
            even when done (their work dirs are moved aside). Defaults to
            none.
        jobs (int): Runs at the same time (each after the runs it needs).
            Defaults to 1. Above 1 without a launcher the runs share this
            machine's cores, and their OpenMP threads wait passively
            (:func:`passive_openmp`).
    """

    def __init__(self,
                 runs: Sequence[Run],
                 opts: SweepOptions,
                 executor: Executor = subprocess_executor,
                 echo: Callable[[str], None] = print,
                 rerun_stale: bool = False,
                 force: Collection[str] = (),
                 jobs: int = 1) -> None:
        opts.check()
        if jobs < 1:
            raise SweepError('--jobs must be at least 1')
        self.runs, self.opts, self.executor = list(runs), opts, executor
        self.echo, self.rerun_stale, self.jobs = echo, rerun_stale, jobs
        self.force = set(force)
        self.results: Dict[str, Result] = {}
        self.dry = self.interrupted = False
        self.would: Set[str] = set()  # dry run: runs that would run

    def _head(self, run: Run) -> str:
        return f'[{self.runs.index(run) + 1}/{len(self.runs)}] {run.key}'

    def _upstream(self, run: Run) -> Optional[Run]:
        """The nearest run of ``run``'s chain that is in this sweep."""
        up = run.upstream
        while up is not None and up.key not in self.results:
            up = up.upstream
        return up

    def _fail(self, run: Run, status: str, message: str) -> TaskFailed:
        result = self.results[run.key]
        result.status, result.message = status, message
        self.echo(f'{self._head(run)}: {status}: {message}')
        return TaskFailed(message)

    # --------------------------------------------------------- doit hooks
    def _current(self, run: Run) -> bool:
        """doit's ``uptodate``: the run finished with the recipe the grid
        gives now (False when that cannot be told; the action says why)."""
        up = self._upstream(run)
        if run.key in self.force or (up is not None and up.key in self.would):
            return False
        try:
            marker = read_marker(run)
            return marker is not None and stale_reason(run, marker,
                                                       self.opts) is None
        except (RunError, KeyError, OSError):
            return False

    def _why(self, run: Run, marker: Optional[dict]) -> Optional[str]:
        """Why a run with a work dir starts afresh (None: it resumes, or,
        with a current record, is done)."""
        up = self._upstream(run)
        if run.key in self.force:
            return 'rerun asked for'
        if marker is None:
            return None
        if up is not None and up.key in self.would:
            return f'stale once {up.key} reruns'
        return stale_reason(run, marker, self.opts)

    def _execute(self, run: Run) -> Optional[TaskFailed]:
        """doit's action: run ``run`` (or print it, in a dry run)."""
        result, head = self.results[run.key], self._head(run)
        try:
            marker = read_marker(run)
            why = self._why(run, marker) if osp.isdir(run.work_dir) else None
            if marker is not None and why is None:  # finished meanwhile
                result.status, result.artifact = SKIPPED, marker['artifact']
                return None
            if why is not None and marker is not None and not (
                    self.rerun_stale or run.key in self.force):
                return self._fail(
                    run, STALE, f'finished with another recipe ({why}); its '
                    'result is kept, not reused: rerun with --rerun-stale '
                    '(moves the work dir aside) or delete it')
            if why is not None:
                aside = (
                    run.work_dir + STALE_SUFFIX +
                    time.strftime('%Y%m%d_%H%M%S'))
                if not self.dry:
                    os.replace(run.work_dir, aside)
                moved = 'would move' if self.dry else 'moved'
                self.echo(f'{head}: {why}; {moved} {run.work_dir} to {aside}')
            resolver = Resolver(
                run, symbolic=self.dry, python=self.opts.python)
            cmd, env = build_command(run, self.opts, resolver)
            if self.jobs > 1 and self.opts.launcher == 'none':
                env = passive_openmp(env)  # the runs share these cores
        except (RunError, KeyError, OSError) as e:
            return self._fail(run, FAILED, str(e))
        result.command = cmd
        resuming = ' (resuming)' if '--resume' in cmd else ''
        if self.dry:
            result.status = DRY_RUN
            self.would.add(run.key)
            self.echo(f'# {run.key}{resuming}\n{shell_line(cmd, env)}')
            return None
        self.echo(f'{head}: running{resuming}, log {result.log}')
        start = time.time()
        try:
            code = self.executor(cmd, env, result.log)
        except KeyboardInterrupt:
            result.status, result.seconds = INTERRUPTED, time.time() - start
            self.echo(f'{head}: interrupted')
            raise
        except OSError as e:
            return self._fail(run, FAILED, f'cannot start: {e}')
        result.seconds = time.time() - start
        if self.interrupted:
            result.status = INTERRUPTED
            return TaskFailed('interrupted')
        if code != 0:
            return self._fail(run, FAILED,
                              f'exit code {code}; see {result.log}')
        try:
            result.artifact = finished_artifact(run, resolver)
            write_marker(run, cmd, result.artifact, result.seconds,
                         fingerprint(run, self.opts))
        except (RunError, OSError) as e:
            return self._fail(run, FAILED, str(e))
        result.status = DONE
        self.echo(f'{head}: done in {result.seconds:.0f} s -> '
                  f'{result.artifact}')
        return None

    # reporter: doit's report hooks (the actions report what they did)
    def skip_uptodate(self, task):
        result = self.results[task.name]
        result.status = SKIPPED
        result.artifact = read_marker(result.run)['artifact']
        self.echo(f'{self._head(result.run)}: done before, skipped '
                  f'({marker_path(result.run)})')

    def add_failure(self, task, fail):
        result = self.results[task.name]
        if isinstance(fail, UnmetDependency):
            up = self._upstream(result.run)
            result.status, result.message = BLOCKED, f'needs {up.key}'
            self.echo(f'{self._head(result.run)}: blocked ({up.key} did not '
                      'finish)')
        elif result.status not in (FAILED, STALE, INTERRUPTED):
            self._fail(result.run, FAILED, fail.get_msg().strip())

    def runtime_error(self, msg):
        self.echo(f'error: {msg}')

    def _ignore(self, *args):
        pass

    initialize = get_status = execute_task = add_success = skip_ignore = \
        cleanup_error = teardown_task = complete_run = _ignore

    # ------------------------------------------------------------ running
    def run(self, dry_run: bool = False) -> List[Result]:
        """Run every run that is not done (with ``dry_run``, print their
        commands, outputs of unfinished runs shown as what they will be,
        and run and write nothing); return one result per run."""
        self.dry, self.interrupted, self.would = dry_run, False, set()
        self.results = {
            run.key: Result(run, log=osp.join(run.work_dir, LOG_FILE))
            for run in self.runs
        }
        tasks = []
        for run in self.runs:
            up = self._upstream(run)
            tasks.append(
                Task(
                    run.key, [(self._execute, [run])],
                    task_dep=[up.key] if up else [],
                    uptodate=[(self._current, [run], {})],
                    verbosity=2))
        config = {
            'backend': 'sweep-none',
            'dep_file': '.sweep-none',  # never written
            'reporter': self,
            'continue': True,
            'verbosity': 2,
            'num_process': self.jobs if self.jobs > 1 and not dry_run else 0,
            'par_type': 'thread',
        }
        doit = DoitMain(
            _Loader(tasks, config),
            config_filenames=(),
            extra_config={'BACKEND': {
                'sweep-none': f'{__name__}:_NoState'
            }})
        try:
            doit.run(['run'])
        except KeyboardInterrupt:
            self.interrupted = True
            with _RUNNING_LOCK:
                running = list(_RUNNING)
            _terminate(running)
            for result in self.results.values():
                if result.command and result.status not in (DONE, FAILED):
                    result.status = INTERRUPTED
        return list(self.results.values())


def run_sweep(runs: Sequence[Run],
              opts: SweepOptions,
              dry_run: bool = False,
              **kwargs) -> List[Result]:
    """Run (or, with ``dry_run``, print) ``runs``; ``kwargs`` go to
    :class:`Sweep`. Returns one :class:`Result` per run, in order."""
    return Sweep(runs, opts, **kwargs).run(dry_run)
