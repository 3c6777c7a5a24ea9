"""Commands of grid runs and the scheduler behind ``tools/sweep.py``.

Each run's command is built from its stage, its axis values and the
launcher; placeholders are resolved just before the run starts, when the
outputs of earlier stages exist. A run that finishes writes a ``.done``
marker (JSON: the command, the artifact it produced, its axis values and
its *recipe*: config, arguments, cfg-options, inputs) atomically into its
work dir; a run with a marker is skipped, a train run with a
``last_checkpoint`` but no marker is resumed (``--resume``), a failed run is
reported and the runs that need its output are blocked while every other
run goes on.

A run whose marker records another recipe than the grid now gives (an
option, a config, ``--cfg-options`` or an input changed), or one of whose
input files was rewritten since (its upstream run ran again, an edited
config), is *stale*: its old result is not reused and not overwritten.
It is reported (and what needs it blocked) unless ``rerun_stale`` is given;
then its work dir is moved aside to ``WORK_DIR.stale-TIMESTAMP`` and the run
starts afresh.
"""
import datetime
import fnmatch
import json
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..io import atomic_write_text
from .grid import (DONE_MARKER, METRICS_FILE, PREDICTIONS_FILE, STALE_SUFFIX,
                   Run, format_label, format_option, render)

LAUNCHERS = ('none', 'pytorch', 'slurm')
#: Status of a run in the summary.
DONE, SKIPPED, FAILED, BLOCKED, DRY_RUN, INTERRUPTED, NOT_RUN = ('done',
                                                                 'skipped',
                                                                 'failed',
                                                                 'blocked',
                                                                 'dry-run',
                                                                 'interrupted',
                                                                 'not run')
STALE = 'stale'
#: A run after one with these statuses cannot start.
BLOCKING = (FAILED, BLOCKED, INTERRUPTED, STALE)
LOG_FILE = 'sweep.log'

Executor = Callable[[List[str], Dict[str, str], str], int]


class SweepError(RuntimeError):
    """The sweep cannot start (bad options, nothing selected)."""


class RunError(RuntimeError):
    """One run cannot be built or did not produce its artifact."""


@dataclass
class SweepOptions:
    """How the runs are launched.

    Attributes:
        launcher (str): ``none``, ``pytorch`` or ``slurm``.
        gpus (int): Processes (GPUs) per train/test run.
        partition (str, optional): Slurm partition (``slurm`` only).
        python (str): Interpreter of the tools.
        tools_dir (str): The ``tools/`` folder, as seen from the cwd.
        cfg_options (list[str]): ``key=value`` added to every train and test
            run (not part of run names).
    """
    launcher: str = 'none'
    gpus: int = 1
    partition: Optional[str] = None
    python: str = sys.executable
    tools_dir: str = 'tools'
    cfg_options: List[str] = field(default_factory=list)

    def check(self) -> None:
        if self.launcher not in LAUNCHERS:
            raise SweepError(f'unknown launcher {self.launcher!r}; one of '
                             f'{", ".join(LAUNCHERS)}')
        if self.gpus < 1:
            raise SweepError('--gpus must be at least 1')
        if self.launcher == 'none' and self.gpus > 1:
            raise SweepError('--gpus N > 1 needs --launcher pytorch or slurm')
        if self.launcher == 'slurm' and not self.partition:
            raise SweepError('--launcher slurm needs a partition: --partition '
                             'NAME or the PARTITION environment variable')


@dataclass
class Result:
    run: Run
    status: str
    log: Optional[str] = None
    artifact: Optional[str] = None
    message: str = ''
    seconds: float = 0.0
    command: Optional[List[str]] = None


# ------------------------------------------------------------------ markers
def read_marker(run: Run) -> Optional[dict]:
    """The ``.done`` marker of ``run``, None if it has not finished."""
    if not osp.isfile(run.marker):
        return None
    try:
        with open(run.marker) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise RunError(f'{run.marker} is unreadable ({e}); delete it to '
                       'rerun the run') from None


def write_marker(run: Run, command: List[str], artifact: str,
                 seconds: float, recipe: dict) -> None:
    """Write ``run``'s ``.done`` marker atomically; ``recipe`` is
    :func:`run_fingerprint`'s, which :func:`stale_reason` compares."""
    record = dict(
        grid=run.grid.name,
        stage=run.stage.name,
        kind=run.stage.kind,
        run=run.name,
        order=run.order,
        axes={
            axis: v.label
            for axis, v in run.settings
        },
        values={
            axis: _jsonable(v.value)
            for axis, v in run.settings
        },
        command=command,
        recipe=recipe,
        artifact=artifact,
        seconds=round(seconds, 1),
        finished=datetime.datetime.now().isoformat(timespec='seconds'))
    atomic_write_text(run.marker, json.dumps(record, indent=2) + '\n')


def _jsonable(value):
    return value if isinstance(value, (str, int, float, bool)) else str(value)


# ---------------------------------------------------------------- resolving
class Resolver:
    """Resolves the placeholders of one run.

    Args:
        run (Run): The run.
        symbolic (bool): For ``--dry-run``: outputs of runs that have not
            finished are written as what they will be (``$(cat
            WORK_DIR/last_checkpoint)`` for a train run) instead of failing.
    """

    def __init__(self, run: Run, symbolic: bool = False) -> None:
        self.run = run
        self.symbolic = symbolic

    def __call__(self, name: str) -> str:
        run = self.run
        head, _, attr = name.partition('.')
        if not attr:
            if name == 'work_dir':
                return run.work_dir
            if name == 'config':
                return self.config(run)
            if name == 'name':
                return run.name
            if name == 'stage':
                return run.stage.name
            if name == 'grid':
                return run.grid.name
            value = run.axis_value(name)
            if value is not None:
                v = value.value
                return format_label(v) if not isinstance(v, str) else v
            var = run.var(name)
            if var is None:
                raise RunError(f'{{{name}}}: no axis value of {run.key} '
                               'defines it (vars)')
            return self.render(format_option(var))
        if head == 'inputs':
            return run.grid.inputs[attr]
        up = run.find(head)
        if attr == 'work_dir':
            return up.work_dir
        if attr == 'name':
            return up.name
        if attr == 'config':
            return self.config(up)
        return self.artifact(up)

    def render(self, text: str, run: Optional[Run] = None) -> str:
        resolver = self if run is None else Resolver(run, self.symbolic)
        return render(text, resolver)

    def config(self, run: Run) -> str:
        config = run.stage.spec.get('config')
        for value in run.choices.values():
            if value.config:
                config = value.config
        if config is None:
            raise RunError(f'{run.key} has no config')
        return self.render(config, run)

    def artifact(self, run: Run) -> str:
        """The output of ``run`` (checkpoint, converted file, metrics)."""
        marker = read_marker(run)
        if marker is not None:
            return marker['artifact']
        if not self.symbolic:
            raise RunError(f'{run.key} has not finished (no '
                           f'{DONE_MARKER} in {run.work_dir})')
        return expected_artifact(run, self)


def expected_artifact(run: Run, resolver: Resolver) -> str:
    """Where ``run``'s artifact will be (a shell expression for train)."""
    kind = run.stage.kind
    if kind == 'train':
        return f'$(cat {osp.join(run.work_dir, "last_checkpoint")})'
    if kind == 'test':
        return osp.join(run.work_dir, METRICS_FILE)
    key = 'dst' if kind == 'convert' else 'artifact'
    return resolver.render(run.stage.spec[key], run)


# ----------------------------------------------------------------- commands
def build_command(run: Run, opts: SweepOptions,
                  resolver: Resolver) -> Tuple[List[str], Dict[str, str]]:
    """The command line of ``run`` and the environment variables it needs.

    Args:
        run (Run): The run.
        opts (SweepOptions): Launcher settings.
        resolver (Resolver): Placeholder resolution for ``run``.

    Returns:
        tuple[list[str], dict]: argv and extra environment variables.
    """
    stage, recipe = run.stage, run_recipe(run, opts, resolver)
    tools = opts.tools_dir
    kind = stage.kind
    args = list(recipe.get('args', []))
    if kind == 'command':
        return list(recipe['argv']), {}
    if kind == 'convert':
        cmd = [opts.python, osp.join(tools, 'model_converters', 'convert.py')]
        if recipe['src_format']:
            cmd += ['--src-format', recipe['src_format']]
        cmd += ['--target', recipe['target'], '--force'] + args
        return cmd + [recipe['src'], recipe['dst']], {}

    cfg_options = recipe['cfg_options']
    config = recipe['config']
    env: Dict[str, str] = {}
    if opts.launcher != 'none':
        env['PYTHON'] = opts.python
    job = f'{run.grid.name}.{stage.name}.{run.name}'

    if kind == 'train':
        if osp.isfile(osp.join(run.work_dir, 'last_checkpoint')):
            args = ['--resume'] + args
        if opts.launcher == 'none':
            cmd = [
                opts.python,
                osp.join(tools, 'train.py'), config, '--work-dir', run.work_dir
            ]
        elif opts.launcher == 'pytorch':
            cmd = [
                osp.join(tools, 'dist_train.sh'), config,
                str(opts.gpus), '--work-dir', run.work_dir
            ]
        else:
            env['GPUS'] = str(opts.gpus)
            env['GPUS_PER_NODE'] = str(min(opts.gpus, 8))
            cmd = [
                osp.join(tools, 'slurm_train.sh'), opts.partition, job, config,
                run.work_dir
            ]
    else:  # test
        checkpoint = recipe['checkpoint']
        test_args = [
            '--work-dir', run.work_dir, '--metrics-out',
            osp.join(run.work_dir, METRICS_FILE)
        ]
        if recipe['dump']:
            test_args += ['--out', osp.join(run.work_dir, PREDICTIONS_FILE)]
        if opts.launcher == 'none':
            cmd = [opts.python, osp.join(tools, 'test.py'), config, checkpoint]
        elif opts.launcher == 'pytorch':
            cmd = [
                osp.join(tools, 'dist_test.sh'), config, checkpoint,
                str(opts.gpus)
            ]
        else:
            env['GPUS'] = str(opts.gpus)
            env['GPUS_PER_NODE'] = str(min(opts.gpus, 8))
            cmd = [
                osp.join(tools, 'slurm_test.sh'), opts.partition, job, config,
                checkpoint
            ]
        cmd += test_args
    cmd += args
    if cfg_options:
        cmd += ['--cfg-options'] + cfg_options
    return cmd, env


def run_recipe(run: Run, opts: SweepOptions, resolver: Resolver) -> dict:
    """What ``run``'s result depends on, placeholders resolved: its config,
    arguments, cfg-options (the grid's and ``opts.cfg_options``) and inputs
    (checkpoint, source file). Not the launcher, the interpreter or
    ``--resume``: the same recipe run another way gives the same result.
    JSON types only, so that it compares equal to one read from a marker.
    """
    spec, r, kind = run.stage.spec, resolver.render, run.stage.kind
    args = [r(a) for a in spec.get('args', [])]
    for value in run.choices.values():
        args += [r(a) for a in value.args]
    if kind == 'command':
        return dict(kind=kind, argv=[r(a) for a in spec['argv']])
    if kind == 'convert':
        src_format = spec.get('src_format')
        return dict(
            kind=kind,
            src_format=r(src_format) if src_format else None,
            target=r(spec['target']),
            src=r(spec['src']),
            dst=r(spec['dst']),
            args=args)
    recipe = dict(
        kind=kind,
        config=resolver.config(run),
        args=args,
        cfg_options=stage_options(run, resolver) + list(opts.cfg_options))
    if kind == 'test':
        recipe.update(checkpoint=r(spec['checkpoint']),
                      dump=bool(spec.get('dump')))
    return recipe


def input_files(recipe: dict) -> Dict[str, List[int]]:
    """``{path: [size, mtime_ns, inode]}`` of the existing files a recipe
    names (config, checkpoints, sources; in arguments also after ``=``), so
    that a rewritten input (a retrained upstream checkpoint, an edited
    config) makes the runs that used it stale. Outputs (``dst``) are left
    out."""
    words: List[str] = []
    for key, value in recipe.items():
        if key == 'dst':
            continue
        for word in value if isinstance(value, list) else [value]:
            if isinstance(word, str):
                words += [word, word.partition('=')[2]]
    files = {}
    for word in words:
        if word and word not in files and osp.isfile(word):
            st = os.stat(word)
            files[word] = [st.st_size, st.st_mtime_ns, st.st_ino]
    return files


def run_fingerprint(run: Run, opts: SweepOptions, resolver: Resolver) -> dict:
    """The recipe of ``run`` with the signatures of its input files
    (``inputs``), as JSON reads it back: what its marker records."""
    recipe = run_recipe(run, opts, resolver)
    recipe['inputs'] = input_files(recipe)
    return json.loads(json.dumps(recipe))


def recipe_changes(old: dict, new: dict) -> str:
    """The entries of two recipes that differ, as ``key: old -> new``
    (for ``inputs``, the files that changed)."""
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if key == 'inputs' and isinstance(a, dict) and isinstance(b, dict):
            changed = sorted(p for p in set(a) | set(b)
                             if a.get(p) != b.get(p))
            changes.append('rewritten or missing: ' + ', '.join(changed))
        else:
            changes.append(f'{key}: {a!r} -> {b!r}')
    return '; '.join(changes)


def stage_options(run: Run, resolver: Resolver) -> List[str]:
    """``key=value`` of the stage and its axis values, resolved.

    A test stage without its own ``config`` tests the config of the train
    run it comes after, so it first takes that run's options too.
    """
    out: List[str] = []
    if run.stage.spec.get('inherit_options') and run.upstream is not None:
        out += stage_options(run.upstream,
                             Resolver(run.upstream, resolver.symbolic))
    options = dict(run.stage.spec.get('cfg_options', {}))
    for value in run.choices.values():
        options.update(value.cfg_options)
    return out + [
        f'{key}={resolver.render(format_option(value))}'
        for key, value in options.items()
    ]


def shell_line(cmd: Sequence[str], env: Dict[str, str]) -> str:
    """``cmd`` as one shell line, ``$(cat FILE)`` kept as a substitution."""
    words = [f'{k}={shlex.quote(v)}' for k, v in env.items()]
    for word in cmd:
        if '$(cat ' not in word:
            words.append(shlex.quote(word))
            continue
        parts = re.split(r'(\$\(cat [^()\s]+\))', word)
        quoted = ''.join(
            p if p.startswith('$(cat ') else re.sub(r'(["\\`$])', r'\\\1', p)
            for p in parts)
        words.append(f'"{quoted}"')
    return ' '.join(words)


def finished_artifact(run: Run, resolver: Resolver) -> str:
    """The artifact of ``run`` after its command succeeded.

    Raises:
        RunError: The command exited with 0 but left no artifact.
    """
    kind = run.stage.kind
    if kind == 'train':
        path = osp.join(run.work_dir, 'last_checkpoint')
        if not osp.isfile(path):
            raise RunError(f'training exited with 0 but wrote no {path}')
        with open(path) as f:
            artifact = f.read().strip()
    else:
        artifact = expected_artifact(run, resolver)
    if not osp.isfile(artifact):
        raise RunError(f'the command exited with 0 but {artifact} does not '
                       'exist')
    return artifact


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
                chosen.add(id(run))
                run = run.upstream
    return [run for run in runs if id(run) in chosen]


# ---------------------------------------------------------------- executing
def subprocess_executor(cmd: List[str], env: Dict[str, str],
                        log_path: str) -> int:
    """Run ``cmd``, appending its output to ``log_path``; return its code."""
    os.makedirs(osp.dirname(osp.abspath(log_path)), exist_ok=True)
    with open(log_path, 'a') as log:
        log.write(f'==== {datetime.datetime.now():%Y-%m-%d %H:%M:%S} $ '
                  f'{shell_line(cmd, env)}\n')
        log.flush()
        proc = subprocess.Popen(
            cmd,
            env={
                **os.environ,
                **env
            },
            stdout=log,
            stderr=subprocess.STDOUT)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise


def run_sweep(runs: List[Run],
              opts: SweepOptions,
              dry_run: bool = False,
              executor: Executor = subprocess_executor,
              echo: Callable[[str], None] = print,
              rerun_stale: bool = False) -> List[Result]:
    """Run (or, with ``dry_run``, print) ``runs`` in order.

    Args:
        runs (list[Run]): Runs in stage order (from :func:`select`).
        opts (SweepOptions): Launcher settings.
        dry_run (bool): Print the commands instead. Defaults to False.
        executor (callable): ``executor(cmd, env, log_path) -> exit code``.
            Defaults to :func:`subprocess_executor`.
        echo (callable): Where progress lines go. Defaults to ``print``.
        rerun_stale (bool): Move the work dir of a stale run (finished with
            another recipe, or before its upstream run ran again) aside and
            run it afresh, instead of reporting it. Defaults to False.

    Returns:
        list[Result]: One per run, in order.
    """
    opts.check()
    results: List[Result] = []
    by_run: Dict[int, Result] = {}
    rerun_in_dry_run = set()  # ids of stale runs a dry run would rerun
    interrupted = False
    for i, run in enumerate(runs):
        head = f'[{i + 1}/{len(runs)}] {run.key}'
        log = osp.join(run.work_dir, LOG_FILE)
        result = Result(run, NOT_RUN, log)
        by_run[id(run)] = result
        results.append(result)
        if interrupted:
            continue
        up = run.upstream
        while up is not None and id(up) not in by_run:
            up = up.upstream
        if up is not None and by_run[id(up)].status in BLOCKING:
            result.status = BLOCKED
            result.message = f'needs {up.key}'
            echo(f'{head}: blocked ({up.key} did not finish)')
            continue
        try:
            marker = read_marker(run)
        except RunError as e:
            result.status, result.message = FAILED, str(e)
            echo(f'{head}: failed: {e}')
            continue
        if marker is not None:
            if up is not None and id(up) in rerun_in_dry_run:
                # its upstream would be moved aside and rerun first
                rerun_in_dry_run.add(id(run))
                result.status = DRY_RUN
                echo(f'# {run.key}: stale once {up.key} reruns; would '
                     'be moved aside and run afresh too')
                continue
            try:
                why = stale_reason(run, marker, opts)
            except (RunError, KeyError) as e:
                result.status, result.message = FAILED, str(e)
                echo(f'{head}: failed: {e}')
                continue
            if why is None:
                result.status = SKIPPED
                result.artifact = marker.get('artifact')
                echo(f'{head}: done before, skipped ({run.marker})')
                continue
            aside = (run.work_dir + STALE_SUFFIX +
                     time.strftime('%Y%m%d_%H%M%S'))
            if not rerun_stale:
                result.status = STALE
                result.message = (f'finished with another recipe ({why}); '
                                  'its result is kept, not reused: rerun '
                                  'with --rerun-stale (moves the work dir '
                                  'aside) or delete it')
                echo(f'{head}: stale: {result.message}')
                continue
            if dry_run:
                rerun_in_dry_run.add(id(run))
                result.status = DRY_RUN
                echo(f'# {run.key}: stale ({why}); would move {run.work_dir} '
                     f'to {aside} and run it afresh')
                continue
            os.replace(run.work_dir, aside)
            echo(f'{head}: stale ({why}); moved {run.work_dir} to {aside}')
        resolver = Resolver(run, symbolic=dry_run)
        try:
            cmd, env = build_command(run, opts, resolver)
        except (RunError, KeyError) as e:
            result.status, result.message = FAILED, str(e)
            echo(f'{head}: failed: {e}')
            continue
        result.command = cmd
        if dry_run:
            result.status = DRY_RUN
            resume = ' (resumes)' if '--resume' in cmd else ''
            echo(f'# {run.key}{resume}\n{shell_line(cmd, env)}')
            continue
        echo(f'{head}: running{" (resuming)" if "--resume" in cmd else ""}'
             f', log {log}')
        start = time.time()
        try:
            code = executor(cmd, env, log)
        except KeyboardInterrupt:
            result.status, interrupted = INTERRUPTED, True
            result.seconds = time.time() - start
            echo(f'{head}: interrupted')
            continue
        except OSError as e:
            code, result.message = 127, f'cannot start: {e}'
        result.seconds = time.time() - start
        if code != 0:
            result.status = FAILED
            result.message = result.message or f'exit code {code}'
            echo(f'{head}: failed ({result.message}); see {log}')
            continue
        try:
            result.artifact = finished_artifact(run, resolver)
        except RunError as e:
            result.status, result.message = FAILED, str(e)
            echo(f'{head}: failed: {e}')
            continue
        write_marker(run, cmd, result.artifact, result.seconds,
                     run_fingerprint(run, opts, resolver))
        result.status = DONE
        echo(f'{head}: done in {result.seconds:.0f} s -> {result.artifact}')
    return results


def stale_reason(run: Run, marker: dict,
                 opts: SweepOptions) -> Optional[str]:
    """Why ``run``'s finished result no longer matches the grid, or None:
    the recipe in its marker differs from the one the grid gives now, or an
    input file was rewritten since (an upstream run ran again). Markers
    without a recipe (older sweeps) are trusted."""
    recorded = marker.get('recipe')
    if recorded is None:
        return None
    current = run_fingerprint(run, opts, Resolver(run))
    if current == recorded:
        return None
    return recipe_changes(recorded, current)


def run_state(run: Run, opts: SweepOptions) -> str:
    """``new``, ``started`` (a work dir, no marker), ``done`` or ``stale``
    (see :func:`stale_reason`; ``done?`` when that cannot be told because
    an input of the run cannot be resolved or its marker is unreadable)."""
    if not osp.isfile(run.marker):
        return 'started' if osp.isdir(run.work_dir) else 'new'
    try:
        return 'done' if stale_reason(run, read_marker(run),
                                      opts) is None else 'stale'
    except (RunError, KeyError):
        return 'done?'


def exit_code(results: List[Result]) -> int:
    """0 if every run finished (now or before), 130 if interrupted, else 1."""
    statuses = {r.status for r in results}
    if INTERRUPTED in statuses:
        return 130
    if statuses & {FAILED, BLOCKED, NOT_RUN, STALE}:
        return 1
    return 0


def summary_table(results: List[Result]) -> str:
    """A text table: stage/run, status, time and the log or a note."""
    rows = [('run', 'status', 'time', 'log / note')]
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
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for j, row in enumerate(rows):
        lines.append('  '.join(c.ljust(w)
                               for c, w in zip(row, widths)) + '  ' + row[3])
        if j == 0:
            lines.append('  '.join('-' * w for w in widths) + '  ' + '-' * 10)
    counts: Dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    lines.append(', '.join(f'{n} {s}' for s, n in counts.items()))
    return '\n'.join(line.rstrip() for line in lines)
