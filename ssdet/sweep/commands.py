"""What a grid run executes, what its result depends on, and its record.

A run's command is built from its stage, its axis values and the launcher;
placeholders are resolved just before it starts, when the outputs of the
earlier stages exist. Commands are argument lists, never shell lines.

A run that finishes leaves a ``.done`` record in its work dir (JSON: the
command, the artifact, its axis labels and values, its position in the grid
and its *recipe*: config, arguments, cfg-options, and the time, size and
md5 of every input file it names). The record is what
``tools/analysis/aggregate.py`` reads, and what tells a finished run from a
stale one (:func:`stale_reason`).
"""
import datetime
import json
import os
import os.path as osp
import re
import shlex
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from doit.dependency import MD5Checker

from ..io import atomic_write_json
from .grid import Run, render
from .schema import format_label, format_option

LAUNCHERS = ('none', 'pytorch', 'slurm')
#: The record a finished run leaves in its work dir.
DONE_MARKER = '.done'
#: A stale run's work dir is moved aside to ``WORK_DIR + STALE_SUFFIX +
#: timestamp`` before it reruns (``--rerun-stale``).
STALE_SUFFIX = '.stale-'
#: Metrics file of a test run (``tools/test.py --metrics-out``).
METRICS_FILE = 'metrics.json'
#: Predictions of a test run with ``dump: true`` (``tools/test.py --out``).
PREDICTIONS_FILE = 'predictions.pkl'
#: Output of each attempt of a run, appended.
LOG_FILE = 'sweep.log'
_CHECKER = MD5Checker()


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
        python (str): Interpreter of the tools and of ``{python}``.
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


# ------------------------------------------------------------------ records
def marker_path(run: Run) -> str:
    return osp.join(run.work_dir, DONE_MARKER)


def read_marker(run: Run) -> Optional[dict]:
    """The ``.done`` record of ``run``, None if it has not finished."""
    path = marker_path(run)
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise RunError(f'{path} is unreadable ({e}); delete it to rerun the '
                       'run') from None


def write_marker(run: Run,
                 command: List[str],
                 artifact: str,
                 seconds: float,
                 recipe: dict,
                 note: str = '') -> None:
    """Write ``run``'s ``.done`` record atomically; ``recipe`` is
    :func:`fingerprint`'s, which :func:`stale_reason` compares."""
    record = dict(
        grid=run.grid.name,
        stage=run.stage.name,
        kind=run.stage.kind,
        run=run.name,
        order=run.order,
        axes={
            axis: label
            for axis, (label, _) in run.settings
        },
        values={
            axis: _jsonable(v.value)
            for axis, (_, v) in run.settings
        },
        command=command,
        recipe=recipe,
        artifact=artifact,
        seconds=round(seconds, 1),
        finished=datetime.datetime.now().isoformat(timespec='seconds'))
    if note:
        record['note'] = note
    atomic_write_json(marker_path(run), record, indent=2)


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
            Defaults to False.
        python (str): What ``{python}`` stands for. Defaults to ``python``
            (the recipe of a run does not depend on the interpreter's path).
    """

    def __init__(self,
                 run: Run,
                 symbolic: bool = False,
                 python: str = 'python') -> None:
        self.run = run
        self.symbolic = symbolic
        self.python = python

    def __call__(self, name: str) -> str:
        run = self.run
        head, _, attr = name.partition('.')
        if not attr:
            own = dict(
                work_dir=run.work_dir,
                name=run.name,
                stage=run.stage.name,
                grid=run.grid.name,
                python=self.python)
            if name in own:
                return own[name]
            if name == 'config':
                return self.config(run)
            value = run.axis_value(name)
            if value is not None:
                v = value.value
                return v if isinstance(v, str) else format_label(v)
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
        resolver = self if run is None else Resolver(run, self.symbolic,
                                                     self.python)
        return render(text, resolver)

    def config(self, run: Run) -> str:
        config = getattr(run.stage, 'config', None)
        for _, value in run.choices.values():
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
            raise RunError(f'{run.key} has not finished (no {DONE_MARKER} '
                           f'in {run.work_dir})')
        return expected_artifact(run, self)


def expected_artifact(run: Run, resolver: Resolver) -> str:
    """Where ``run``'s artifact will be (a shell expression for train)."""
    kind = run.stage.kind
    if kind == 'train':
        return f'$(cat {osp.join(run.work_dir, "last_checkpoint")})'
    if kind == 'test':
        return osp.join(run.work_dir, METRICS_FILE)
    template = run.stage.dst if kind == 'convert' else run.stage.artifact
    return resolver.render(template, run)


def finished_artifact(run: Run, resolver: Resolver) -> str:
    """The artifact of ``run`` after its command succeeded.

    Raises:
        RunError: The command exited with 0 but left no artifact.
    """
    if run.stage.kind == 'train':
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


# ------------------------------------------------------------------ recipes
def run_recipe(run: Run, opts: SweepOptions, resolver: Resolver) -> dict:
    """What ``run``'s result depends on, placeholders resolved: its config,
    arguments, cfg-options (the grid's and ``opts.cfg_options``) and inputs
    (checkpoint, source file). Not the launcher, the interpreter or
    ``--resume``: the same recipe run another way gives the same result.
    JSON types only, so that it compares equal to one read from a record.
    """
    stage, r, kind = run.stage, resolver.render, run.stage.kind
    if kind == 'command':
        return dict(kind=kind, argv=[r(a) for a in stage.argv])
    args = [r(a) for a in stage.args]
    for _, value in run.choices.values():
        args += [r(a) for a in value.args]
    if kind == 'convert':
        return dict(
            kind=kind,
            src_format=r(stage.src_format) if stage.src_format else None,
            target=r(stage.target),
            src=r(stage.src),
            dst=r(stage.dst),
            args=args)
    recipe = dict(
        kind=kind,
        config=resolver.config(run),
        args=args,
        cfg_options=stage_options(run, resolver) + list(opts.cfg_options))
    if kind == 'test':
        recipe.update(checkpoint=r(stage.checkpoint), dump=stage.dump)
    return recipe


def stage_options(run: Run, resolver: Resolver) -> List[str]:
    """``key=value`` of the stage and its axis values, resolved.

    A test stage without its own ``config`` tests the config of the train
    run it comes after, so it first takes that run's options too.
    """
    out: List[str] = []
    if run.stage.kind == 'test' and run.stage.inherits_options:
        out += stage_options(run.upstream, resolver)
    options = dict(run.stage.cfg_options)
    for _, value in run.choices.values():
        options.update(value.cfg_options)
    return out + [
        f'{key}={resolver.render(format_option(value), run)}'
        for key, value in options.items()
    ]


def input_files(recipe: dict) -> List[str]:
    """The existing files a recipe names (config, checkpoints, sources,
    scripts; in arguments also after ``=``): a run is stale once one of
    them changes (a retrained upstream checkpoint, an edited config).
    Outputs (``dst``) are left out."""
    words: List[str] = []
    for key, value in recipe.items():
        if key == 'dst':
            continue
        for word in value if isinstance(value, list) else [value]:
            if isinstance(word, str):
                words += [word, word.partition('=')[2]]
    return list(dict.fromkeys(w for w in words if w and osp.isfile(w)))


def fingerprint(run: Run, opts: SweepOptions) -> dict:
    """What ``run``'s record keeps: its recipe, and as ``inputs`` the state
    of each input file (mtime, size, md5; doit's ``MD5Checker``), as JSON
    reads them back."""
    recipe = run_recipe(run, opts, Resolver(run))
    recipe['inputs'] = {
        path: _CHECKER.get_state(path, None)
        for path in input_files(recipe)
    }
    return json.loads(json.dumps(recipe))


def _changed(path: str, state: list) -> bool:
    """Whether the input file ``path`` changed since its recorded state."""
    try:
        st = os.stat(path)
    except OSError:
        return True
    if isinstance(state[2], int):  # records holding [size, mtime_ns, inode]
        return state != [st.st_size, st.st_mtime_ns, st.st_ino]
    return _CHECKER.check_modified(path, st, state)


def stale_reason(run: Run, marker: dict, opts: SweepOptions) -> Optional[str]:
    """Why ``run``'s finished result no longer stands, or None: the recipe
    in its record differs from the one the grid gives now (as ``key: old
    -> new``), an input file changed since (an upstream run ran again, a
    config was edited; a rewrite with the same content is no change), or
    its artifact is gone. Records without a recipe are trusted.

    Raises:
        RunError: An upstream output cannot be resolved.
    """
    artifact = marker.get('artifact')
    if artifact and not osp.isfile(artifact):
        return f'its output {artifact} is missing'
    recorded = marker.get('recipe')
    if recorded is None:
        return None
    recorded = dict(recorded)
    inputs = recorded.pop('inputs', {})
    current = json.loads(json.dumps(run_recipe(run, opts, Resolver(run))))
    changes = [
        f'{key}: {recorded.get(key)!r} -> {current.get(key)!r}'
        for key in sorted(set(recorded) | set(current))
        if recorded.get(key) != current.get(key)
    ]
    changed = {path for path, state in inputs.items() if _changed(path, state)}
    files = sorted(changed | (set(input_files(current)) ^ set(inputs)))
    if files:
        changes.append('rewritten or missing: ' + ', '.join(files))
    return '; '.join(changes) or None


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
    recipe = run_recipe(run, opts, resolver)
    tools, kind = opts.tools_dir, run.stage.kind
    args = list(recipe.get('args', []))
    if kind == 'command':
        return list(recipe['argv']), {}
    if kind == 'convert':
        cmd = [opts.python, osp.join(tools, 'model_converters', 'convert.py')]
        if recipe['src_format']:
            cmd += ['--src-format', recipe['src_format']]
        cmd += ['--target', recipe['target'], '--force'] + args
        return cmd + [recipe['src'], recipe['dst']], {}

    tool, env = kind, {}  # train or test
    target = [recipe['config']]
    if kind == 'test':
        target.append(recipe['checkpoint'])
    if opts.launcher == 'none':
        cmd = [opts.python, osp.join(tools, f'{tool}.py'), *target]
    elif opts.launcher == 'pytorch':
        env['PYTHON'] = opts.python
        cmd = [osp.join(tools, f'dist_{tool}.sh'), *target, str(opts.gpus)]
    else:  # slurm: tools/slurm_*.sh PARTITION JOB CONFIG WORK_DIR|CHECKPOINT
        env.update(
            PYTHON=opts.python,
            GPUS=str(opts.gpus),
            GPUS_PER_NODE=str(min(opts.gpus, 8)))
        job = f'{run.grid.name}.{run.stage.name}.{run.name}'
        cmd = [osp.join(tools, f'slurm_{tool}.sh'), opts.partition, job]
        cmd += target + ([run.work_dir] if kind == 'train' else [])
    if kind == 'train':
        if opts.launcher != 'slurm':
            cmd += ['--work-dir', run.work_dir]
        if osp.isfile(osp.join(run.work_dir, 'last_checkpoint')):
            cmd.append('--resume')
    else:
        cmd += [
            '--work-dir', run.work_dir, '--metrics-out',
            osp.join(run.work_dir, METRICS_FILE)
        ]
        if recipe['dump']:
            cmd += ['--out', osp.join(run.work_dir, PREDICTIONS_FILE)]
    cmd += args
    if recipe['cfg_options']:
        cmd += ['--cfg-options'] + recipe['cfg_options']
    return cmd, env


def shell_line(cmd: Sequence[str], env: Dict[str, str]) -> str:
    """``cmd`` as one shell line to show, ``$(cat FILE)`` kept as a
    substitution (the sweep itself never runs a shell)."""
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
