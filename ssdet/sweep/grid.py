"""A grid's runs: loading a grid file and expanding its stages and axes.

A grid lists *stages* (pretrain -> convert/extract -> fine-tune -> test),
each with optional *axes* to vary. A stage that names an earlier stage in
``after`` runs once per run of that stage and per combination of its own
axes, so a fine-tune stage that varies the learning rate over two values
after a pretrain stage with three backbones has six runs. Every run gets a
stable work dir named after its settings::

    <work_root>/<grid name>/<stage>/<axis1>-<label1>_<axis2>-<label2>

(inherited axes first), ``default`` for a run without any axis. Commands
reference the outputs of earlier stages through placeholders such as
``{pretrain.checkpoint}`` (:func:`render`, ``docs/sweeps.md``).

The shape of the file is checked by :mod:`ssdet.sweep.schema`; here, what
relates stages to each other (``after``, inherited axes, placeholders).
Errors are :class:`GridError` naming the file and the key.
"""
import os.path as osp
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from .schema import AxisValue, GridError, GridSpec, validate

#: Attributes of a stage reference ``{stage.attr}``.
STAGE_ATTRS = ('work_dir', 'config', 'artifact', 'checkpoint', 'metrics',
               'name')
#: Placeholders of the run itself (``{python}``: the interpreter running
#: the sweep, for ``command`` stages).
OWN_NAMES = ('work_dir', 'config', 'name', 'stage', 'grid', 'python')
PLACEHOLDER_RE = re.compile(r'\{\{|\}\}|\{([^{}]*)\}')

__all__ = [
    'GridError', 'Grid', 'Run', 'load_grid', 'parse_grid', 'expand', 'render',
    'placeholders'
]


@dataclass
class Grid:
    """A validated grid file and where its runs go."""
    path: str
    spec: GridSpec
    work_root: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def stages(self) -> list:
        return self.spec.stages

    @property
    def inputs(self) -> Dict[str, str]:
        return self.spec.inputs

    @property
    def work_dir(self) -> str:
        """``<work_root>/<grid name>``: the folder of all its runs."""
        return osp.join(self.work_root, self.name)

    def stage(self, name: str):
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def chain(self, stage) -> list:
        """``stage`` and the stages it comes after, earliest first."""
        out = [stage]
        while out[0].after is not None:
            out.insert(0, self.stage(out[0].after))
        return out


#: One axis value of a run: ``(label, settings)``.
Choice = Tuple[str, AxisValue]


@dataclass
class Run:
    """One run of a stage: its own axis values and its upstream run."""
    grid: Grid
    stage: Any
    choices: Dict[str, Choice]
    upstream: Optional['Run']
    order: int = 0

    @property
    def settings(self) -> List[Tuple[str, Choice]]:
        """(axis, choice) of the whole chain, inherited axes first."""
        up = self.upstream.settings if self.upstream else []
        return up + list(self.choices.items())

    @property
    def name(self) -> str:
        parts = [f'{axis}-{label}' for axis, (label, _) in self.settings]
        return '_'.join(parts) or 'default'

    @property
    def key(self) -> str:
        return f'{self.stage.name}/{self.name}'

    @property
    def work_dir(self) -> str:
        return osp.join(self.grid.work_dir, self.stage.name, self.name)

    def find(self, stage_name: str) -> 'Run':
        """The run of ``stage_name`` in this run's chain."""
        run: Optional[Run] = self
        while run is not None:
            if run.stage.name == stage_name:
                return run
            run = run.upstream
        raise KeyError(stage_name)

    def axis_value(self, axis: str) -> Optional[AxisValue]:
        for name, (_, value) in reversed(self.settings):
            if name == axis:
                return value
        return None

    def var(self, name: str) -> Optional[Any]:
        """The ``vars`` entry ``name`` of the nearest axis value."""
        for _, (_, value) in reversed(self.settings):
            if name in value.vars:
                return value.vars[name]
        return None


# ----------------------------------------------------------------- loading
def load_grid(path: str,
              work_root: Optional[str] = None,
              name: Optional[str] = None) -> Grid:
    """Read and validate a grid file.

    Args:
        path (str): The YAML grid file.
        work_root (str, optional): Overrides the grid's ``work_root``.
        name (str, optional): Overrides the grid's ``name`` (the folder
            under ``work_root``).

    Returns:
        Grid: The validated grid.

    Raises:
        GridError: The file is not valid YAML or breaks the schema; the
            message names the file and the key.
    """
    return parse_grid(read_grid_file(path), path, work_root, name)


def read_grid_file(path: str) -> Any:
    """The YAML data of a grid file (``yaml.safe_load``: tags that would
    build Python objects are refused)."""
    import yaml
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise GridError(f'{path}: not valid YAML: {e}') from None
    except OSError as e:
        raise GridError(f'{path}: cannot read the grid file ({e})') from None


def parse_grid(data: Any,
               path: str = '<grid>',
               work_root: Optional[str] = None,
               name: Optional[str] = None) -> Grid:
    """Validate the loaded YAML ``data`` of grid file ``path``; the grid's
    name defaults to the file name without ``.yaml``."""
    if isinstance(data, dict):
        data = dict(data)
        if name is not None:
            data['name'] = name
        data.setdefault('name', osp.splitext(osp.basename(path))[0])
    spec = validate(data, path)
    grid = Grid(path, spec, work_root or spec.work_root)

    def fail(key: str, message: str):
        raise GridError(f'{path}: {key}: {message}')

    for index, stage in enumerate(grid.stages):
        _check_stage(grid, index, stage, fail)
    for index, stage in enumerate(grid.stages):
        _check_placeholders(grid, index, stage, fail)
    return grid


def _where(index: int, stage) -> str:
    return f'stages[{index}] ({stage.name})'


def _check_stage(grid: Grid, index: int, stage, fail) -> None:
    where = _where(index, stage)
    earlier = [s.name for s in grid.stages[:index]]
    if stage.name in ('inputs', ) + OWN_NAMES:
        fail(f'{where}.name', f'{stage.name!r} is reserved')
    if stage.name in earlier:
        fail(f'{where}.name', f'stage {stage.name!r} is defined twice')
    if stage.after is not None and stage.after not in earlier:
        fail(
            f'{where}.after', f'{stage.after!r} is not an earlier stage '
            f'(earlier: {", ".join(earlier) or "none"})')
    upstream = grid.stage(stage.after) if stage.after else None
    inherited = {
        a
        for s in (grid.chain(upstream) if upstream else [])
        for a in s.axes
    }
    for axis in stage.axes:
        if axis in inherited:
            fail(f'{where}.axes.{axis}', 'an earlier stage of the chain '
                 'already varies this axis')
        if axis in OWN_NAMES or axis == 'inputs' or axis in (
                s.name for s in grid.stages):
            fail(f'{where}.axes.{axis}', 'the name is reserved (a '
                 'placeholder or a stage name)')
    config_axes = [
        a for a, axis in stage.axes.items()
        if any(v.config for v in axis.values.values())
    ]
    if len(config_axes) > 1:
        fail(f'{where}.axes', 'only one axis of a stage may set `config`')
    config_axis = any(
        all(v.config for v in stage.axes[a].values.values())
        for a in config_axes)
    if stage.kind == 'train' and stage.config is None and not config_axis:
        fail(
            where, 'a train stage needs `config` (or an axis whose every '
            'value sets `config`)')
    if stage.kind == 'test':
        if stage.config is None and not config_axis:
            if upstream is None or upstream.kind != 'train':
                fail(
                    where, 'a test stage needs `config` unless it comes '
                    'after a train stage (then it tests that config)')
            stage.config = '{%s.config}' % stage.after
            stage._inherit_options = True  # ... as it was trained
        if stage.checkpoint is None:
            if upstream is None or upstream.kind == 'test':
                fail(
                    where, 'a test stage needs `checkpoint` unless it comes '
                    'after a stage that produces one')
            stage.checkpoint = '{%s.checkpoint}' % stage.after


def _templates(stage) -> List[Tuple[str, str]]:
    """(key, text) of every string of a stage that may hold placeholders."""
    out = []
    for key in ('config', 'checkpoint', 'src', 'src_format', 'target', 'dst',
                'artifact'):
        value = getattr(stage, key, None)
        if isinstance(value, str):
            out.append((key, value))
    for key in ('args', 'argv'):
        out += [(f'{key}[{i}]', v)
                for i, v in enumerate(getattr(stage, key, []))]
    out += [(f'cfg_options.{k}', v)
            for k, v in getattr(stage, 'cfg_options', {}).items()
            if isinstance(v, str)]
    for name, axis in stage.axes.items():
        for label, v in axis.values.items():
            where = f'axes.{name}.values.{label}'
            if v.config:
                out.append((f'{where}.config', v.config))
            out += [(f'{where}.cfg_options.{k}', o)
                    for k, o in v.cfg_options.items() if isinstance(o, str)]
            out += [(f'{where}.args', a) for a in v.args]
            out += [(f'{where}.vars.{k}', o) for k, o in v.vars.items()
                    if isinstance(o, str)]
    return out


def _check_placeholders(grid: Grid, index: int, stage, fail) -> None:
    chain = grid.chain(stage)
    earlier = {s.name: s for s in chain[:-1]}
    names = {a for s in chain for a in s.axes}
    names |= {
        k
        for s in chain
        for a in s.axes.values()
        for v in a.values.values()
        for k in v.vars
    }
    for key, text in _templates(stage):
        where = f'{_where(index, stage)}.{key}'
        rest = PLACEHOLDER_RE.sub('', text)
        if '{' in rest or '}' in rest:
            fail(
                where, f'unbalanced brace in {text!r} (write {{{{ or }}}} '
                'for a literal brace)')
        for name in placeholders(text):
            head, _, attr = name.partition('.')
            if not attr:
                if name in OWN_NAMES or name in names:
                    continue
                known = ', '.join(sorted(names)) or 'none'
                own = ', '.join('{%s}' % n for n in OWN_NAMES)
                fail(
                    where, f'{{{name}}} is neither an axis (or axis var) '
                    f'of this stage or its earlier stages ({known}) nor '
                    f'one of {own}')
            if head == 'inputs':
                if attr not in grid.inputs:
                    fail(
                        where, f'{{{name}}}: no input {attr!r} in the '
                        f'grid\'s `inputs` '
                        f'({", ".join(grid.inputs) or "none"})')
                continue
            if head not in earlier:
                fail(
                    where, f'{{{name}}}: {head!r} is not an earlier stage in '
                    f'this stage\'s `after` chain '
                    f'({", ".join(earlier) or "none"})')
            if attr not in STAGE_ATTRS:
                fail(
                    where, f'{{{name}}}: unknown attribute {attr!r}; one of '
                    f'{", ".join(STAGE_ATTRS)}')
            kind = earlier[head].kind
            if attr == 'metrics' and kind != 'test':
                fail(where, f'{{{name}}}: only test stages have metrics')
            if attr == 'checkpoint' and kind == 'test':
                fail(where, f'{{{name}}}: a test stage has no checkpoint')
            if attr == 'config' and kind not in ('train', 'test'):
                fail(where, f'{{{name}}}: a {kind} stage has no config')


# ------------------------------------------------------------ placeholders
def placeholders(text: str) -> List[str]:
    """The placeholder names in ``text`` (``{{``/``}}`` are literal)."""
    return [
        m.group(1) for m in PLACEHOLDER_RE.finditer(text)
        if m.group(1) is not None
    ]


def render(text: str, resolve: Callable[[str], str]) -> str:
    """Replace every ``{name}`` in ``text`` by ``resolve(name)``, once: a
    value is never read as a template again. ``{{`` and ``}}`` stand for
    literal braces."""

    def sub(match):
        if match.group(0) == '{{':
            return '{'
        if match.group(0) == '}}':
            return '}'
        return str(resolve(match.group(1)))

    return PLACEHOLDER_RE.sub(sub, text)


# --------------------------------------------------------------- expansion
def expand(grid: Grid) -> List[Run]:
    """All runs of ``grid``, stage by stage, in a stable order."""
    runs: List[Run] = []
    by_stage: Dict[str, List[Run]] = {}
    for stage in grid.stages:
        parents = by_stage[stage.after] if stage.after else [None]
        combos: List[Dict[str, Choice]] = [{}]
        for axis, spec in stage.axes.items():
            combos = [{
                **c, axis: choice
            } for c in combos for choice in spec.values.items()]
        stage_runs = []
        for parent in parents:
            for combo in combos:
                stage_runs.append(
                    Run(grid, stage, combo, parent, order=len(runs)))
                runs.append(stage_runs[-1])
        by_stage[stage.name] = stage_runs
    return runs
