"""The grid file schema (``configs/grids/*.yaml``) and its expansion into
runs.

A grid lists *stages* (pretrain -> convert/extract -> fine-tune -> test), each
with optional *axes* to vary. A stage that names an earlier stage in
``after`` runs once per run of that stage and per combination of its own
axes, so a fine-tune stage that varies the learning rate over two values
after a pretrain stage with three backbones has six runs. Every run gets a
stable work dir named after its settings::

    <work_root>/<grid name>/<stage>/<axis1>-<label1>_<axis2>-<label2>

(inherited axes first), ``default`` for a run without any axis. Commands
reference the outputs of earlier stages through placeholders such as
``{pretrain.checkpoint}``; see :func:`render` and ``docs/sweeps.md``.

Validation errors are :class:`GridError` and name the grid file and the key
(``grid.yaml: stages[1].axes.lr.values: ...``).
"""
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

KINDS = ('train', 'test', 'convert', 'command')
TOP_KEYS = ('name', 'description', 'work_root', 'inputs', 'stages')
COMMON_STAGE_KEYS = ('name', 'kind', 'after', 'axes', 'description')
STAGE_KEYS = {
    'train': ('config', 'cfg_options', 'args'),
    'test': ('config', 'checkpoint', 'cfg_options', 'args', 'dump'),
    'convert': ('src', 'src_format', 'target', 'dst', 'args'),
    'command': ('argv', 'artifact'),
}
VALUE_KEYS = ('value', 'config', 'cfg_options', 'args', 'vars')
#: Attributes of a stage reference ``{stage.attr}``.
STAGE_ATTRS = ('work_dir', 'config', 'artifact', 'checkpoint', 'metrics',
               'name')
#: Placeholders of the run itself.
OWN_NAMES = ('work_dir', 'config', 'name', 'stage', 'grid')

NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9]*$')
STAGE_NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_-]*$')
LABEL_RE = re.compile(r'^[A-Za-z0-9.+-]+$')
PLACEHOLDER_RE = re.compile(r'\{\{|\}\}|\{([^{}]*)\}')

#: Name of the marker written atomically when a run has finished.
DONE_MARKER = '.done'
#: A stale run's work dir is moved aside to ``WORK_DIR + STALE_SUFFIX +
#: timestamp`` before it reruns (``tools/sweep.py --rerun-stale``).
STALE_SUFFIX = '.stale-'
#: Metrics file of a test run (``tools/test.py --metrics-out``).
METRICS_FILE = 'metrics.json'
#: Predictions of a test run with ``dump: true`` (``tools/test.py --out``).
PREDICTIONS_FILE = 'predictions.pkl'


class GridError(ValueError):
    """A grid file does not follow the schema of ``docs/sweeps.md``."""


@dataclass
class AxisValue:
    """One value of an axis.

    Attributes:
        label (str): Its name in work dirs (``<axis>-<label>``).
        value (Any): What ``{axis}`` placeholders expand to.
        config (str, optional): A config replacing the stage's.
        cfg_options (dict): ``--cfg-options`` it adds.
        args (list[str]): Extra command-line arguments it adds.
        vars (dict): Named placeholders (``{name}``) it defines for its
            stage and the later stages of the chain.
    """
    label: str
    value: Any
    config: Optional[str] = None
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    args: List[str] = field(default_factory=list)
    vars: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Axis:
    name: str
    values: List[AxisValue]


@dataclass
class Stage:
    """A stage of a grid; ``spec`` holds its kind-specific keys."""
    name: str
    kind: str
    index: int
    after: Optional[str]
    axes: List[Axis]
    spec: Dict[str, Any]
    where: str  # e.g. 'stages[1]' for error messages


@dataclass
class Grid:
    path: str
    name: str
    work_root: str
    inputs: Dict[str, str]
    stages: List[Stage]
    description: str = ''

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def chain(self, stage: Stage) -> List[Stage]:
        """``stage`` and the stages it comes after, earliest first."""
        out = [stage]
        while out[0].after is not None:
            out.insert(0, self.stage(out[0].after))
        return out


@dataclass
class Run:
    """One run of a stage: its own axis values and its upstream run."""
    grid: Grid
    stage: Stage
    choices: Dict[str, AxisValue]
    upstream: Optional['Run']
    order: int = 0

    @property
    def settings(self) -> List[Tuple[str, AxisValue]]:
        """(axis, value) of the whole chain, inherited axes first."""
        up = self.upstream.settings if self.upstream else []
        return up + list(self.choices.items())

    @property
    def name(self) -> str:
        parts = [f'{axis}-{v.label}' for axis, v in self.settings]
        return '_'.join(parts) or 'default'

    @property
    def key(self) -> str:
        return f'{self.stage.name}/{self.name}'

    @property
    def work_dir(self) -> str:
        return osp.join(self.grid.work_root, self.grid.name, self.stage.name,
                        self.name)

    @property
    def marker(self) -> str:
        return osp.join(self.work_dir, DONE_MARKER)

    def find(self, stage_name: str) -> 'Run':
        """The run of ``stage_name`` in this run's chain."""
        run: Optional[Run] = self
        while run is not None:
            if run.stage.name == stage_name:
                return run
            run = run.upstream
        raise KeyError(stage_name)

    def axis_value(self, axis: str) -> Optional[AxisValue]:
        for name, value in reversed(self.settings):
            if name == axis:
                return value
        return None

    def var(self, name: str) -> Optional[Any]:
        """The ``vars`` entry ``name`` of the nearest axis value."""
        for _, value in reversed(self.settings):
            if name in value.vars:
                return value.vars[name]
        return None


# ----------------------------------------------------------------- loading
def load_grid(path: str, work_root: Optional[str] = None) -> Grid:
    """Read and validate a grid file.

    Args:
        path (str): The YAML grid file.
        work_root (str, optional): Overrides the grid's ``work_root``.

    Returns:
        Grid: The validated grid.

    Raises:
        GridError: The file is not valid YAML or breaks the schema; the
            message names the file and the key.
    """
    import yaml
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise GridError(f'{path}: not valid YAML: {e}') from None
    return parse_grid(data, path, work_root)


def parse_grid(data: Any, path: str = '<grid>',
               work_root: Optional[str] = None) -> Grid:
    """Validate the loaded YAML ``data`` of grid file ``path``."""

    def fail(key: str, message: str):
        raise GridError(f'{path}: {key}: {message}' if key else
                        f'{path}: {message}')

    if not isinstance(data, dict):
        fail('', 'a grid file is a mapping with a `stages` list')
    _check_keys(data, TOP_KEYS, '', fail)
    name = data.get('name', osp.splitext(osp.basename(path))[0])
    if not isinstance(name, str) or not STAGE_NAME_RE.match(name):
        fail('name', f'{name!r} is not usable as a directory name (letters, '
             'digits, - and _, starting with a letter)')
    root = work_root or data.get('work_root', 'work_dirs')
    if not isinstance(root, str) or not root:
        fail('work_root', 'must be a path (string)')
    inputs = data.get('inputs') or {}
    if not isinstance(inputs, dict):
        fail('inputs', 'must map names to file paths')
    for key, value in inputs.items():
        if not isinstance(value, str) or not value:
            fail(f'inputs.{key}', 'must be a file path (string)')
        if osp.isabs(value):
            fail(f'inputs.{key}', f'{value!r} is absolute; give paths '
                 'relative to the directory the sweep runs in')
    stages_data = data.get('stages')
    if not isinstance(stages_data, list) or not stages_data:
        fail('stages', 'must be a non-empty list of stages')
    grid = Grid(path, name, root, dict(inputs), [],
                str(data.get('description', '')))
    for index, item in enumerate(stages_data):
        grid.stages.append(_parse_stage(item, index, grid, fail))
    for stage in grid.stages:
        _check_placeholders(grid, stage, fail)
    return grid


def _check_keys(data: Mapping, allowed, where: str, fail) -> None:
    for key in data:
        if key not in allowed:
            fail(f'{where}.{key}' if where else str(key),
                 f'unknown key; expected one of {", ".join(allowed)}')


def _parse_stage(item: Any, index: int, grid: Grid, fail) -> Stage:
    where = f'stages[{index}]'
    if not isinstance(item, dict):
        fail(where, 'a stage is a mapping with `name` and `kind`')
    name = item.get('name')
    if not isinstance(name, str) or not STAGE_NAME_RE.match(name):
        fail(f'{where}.name', f'{name!r}: a stage needs a name of letters, '
             'digits, - and _, starting with a letter')
    if name in ('inputs', ) or name in OWN_NAMES:
        fail(f'{where}.name', f'{name!r} is reserved')
    if any(s.name == name for s in grid.stages):
        fail(f'{where}.name', f'stage {name!r} is defined twice')
    where = f'stages[{index}] ({name})'
    kind = item.get('kind')
    if kind not in KINDS:
        fail(f'{where}.kind', f'{kind!r}; expected one of {", ".join(KINDS)}')
    _check_keys(item, COMMON_STAGE_KEYS + STAGE_KEYS[kind], where, fail)
    after = item.get('after')
    if after is not None:
        if not any(s.name == after for s in grid.stages):
            earlier = ', '.join(s.name for s in grid.stages) or 'none'
            fail(f'{where}.after',
                 f'{after!r} is not an earlier stage (earlier: {earlier})')
    spec = {k: item[k] for k in STAGE_KEYS[kind] if k in item}
    if 'cfg_options' in spec:
        spec['cfg_options'] = _parse_options(spec['cfg_options'],
                                             f'{where}.cfg_options', fail)
    if 'args' in spec:
        spec['args'] = _parse_args(spec['args'], f'{where}.args', fail)
    for key in ('config', 'checkpoint', 'src', 'src_format', 'target', 'dst',
                'artifact'):
        if key in spec and not isinstance(spec[key], str):
            fail(f'{where}.{key}', 'must be a string')
    if 'dump' in spec and not isinstance(spec['dump'], bool):
        fail(f'{where}.dump', 'must be true or false')
    upstream = grid.stage(after) if after else None
    axes = _parse_axes(item.get('axes'), f'{where}.axes', grid, upstream,
                       fail)
    config_axis = any(all(v.config for v in a.values) for a in axes)
    if kind == 'train' and 'config' not in spec and not config_axis:
        fail(where, 'a train stage needs `config` (or an axis whose every '
             'value sets `config`)')
    if kind == 'test':
        if 'config' not in spec and not config_axis:
            if upstream is None or upstream.kind != 'train':
                fail(where, 'a test stage needs `config` unless it comes '
                     'after a train stage (then it tests that config)')
            spec['config'] = '{%s.config}' % after
            # ... with the options it was trained with
            spec['inherit_options'] = True
        if 'checkpoint' not in spec:
            if upstream is None or upstream.kind not in ('train', 'convert',
                                                         'command'):
                fail(where, 'a test stage needs `checkpoint` unless it comes '
                     'after a stage that produces one')
            spec['checkpoint'] = '{%s.checkpoint}' % after
    if kind == 'convert':
        if 'src' not in spec:
            fail(where, 'a convert stage needs `src` (e.g. {inputs.NAME})')
        spec.setdefault('target', 'mmdet')
        spec.setdefault('dst', '{work_dir}/converted.pth')
    if kind == 'command':
        argv = spec.get('argv')
        if (not isinstance(argv, list) or not argv
                or not all(isinstance(a, (str, int, float)) for a in argv)):
            fail(f'{where}.argv', 'must be a non-empty list of strings')
        spec['argv'] = [str(a) for a in argv]
        if 'artifact' not in spec:
            fail(where, 'a command stage needs `artifact` (the file it '
                 'writes, e.g. {work_dir}/backbone.pth)')
    return Stage(name, kind, index, after, axes, spec, where)


def _parse_options(data: Any, where: str, fail) -> Dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        fail(where, 'must map config keys to values, e.g. '
             '{optim_wrapper.optimizer.lr: 0.02}')
    for key, value in data.items():
        if not isinstance(key, str) or not key:
            fail(where, f'{key!r} is not a config key')
        try:
            format_option(value)
        except TypeError as e:
            fail(f'{where}.{key}', str(e))
    return dict(data)


def _parse_args(data: Any, where: str, fail) -> List[str]:
    if data is None:
        return []
    if not isinstance(data, list) or not all(
            isinstance(a, (str, int, float)) for a in data):
        fail(where, 'must be a list of command-line arguments (strings)')
    return [str(a) for a in data]


def _parse_axes(data: Any, where: str, grid: Grid, upstream: Optional[Stage],
                fail) -> List[Axis]:
    if data is None:
        return []
    if not isinstance(data, dict):
        fail(where, 'must map axis names to {key, values} or {values}')
    inherited = set()
    if upstream is not None:
        for stage in grid.chain(upstream):
            inherited.update(a.name for a in stage.axes)
    axes = []
    for name, spec in data.items():
        key = f'{where}.{name}'
        if not isinstance(name, str) or not NAME_RE.match(name):
            fail(key, 'an axis name is letters and digits, starting with a '
                 'letter (it becomes part of directory names: '
                 '<axis>-<label> joined by _)')
        if name in inherited:
            fail(key, 'an earlier stage of the chain already varies this '
                 'axis')
        if name in OWN_NAMES or name == 'inputs' or any(
                s.name == name for s in grid.stages):
            fail(key, 'the name is reserved (a placeholder or a stage name)')
        if isinstance(spec, list):
            spec = dict(values=spec)
        if not isinstance(spec, dict):
            fail(key, 'must be {key: CONFIG.KEY, values: [...]} or '
                 '{values: {label: {...}}}')
        _check_keys(spec, ('key', 'values', 'description'), key, fail)
        values = spec.get('values')
        option = spec.get('key')
        if option is not None and not isinstance(option, str):
            fail(f'{key}.key', 'must be a config key such as '
                 'optim_wrapper.optimizer.lr')
        parsed: List[AxisValue] = []
        if isinstance(values, list) and values:
            for i, value in enumerate(values):
                if not isinstance(value, (str, int, float, bool)):
                    fail(f'{key}.values[{i}]', 'a listed value is a scalar; '
                         'use a mapping label -> settings for more')
                label = format_label(value)
                opts = {option: value} if option else {}
                parsed.append(AxisValue(label, value, cfg_options=opts))
        elif isinstance(values, dict) and values:
            for label, settings in values.items():
                vkey = f'{key}.values.{label}'
                label = format_label(label)
                if settings is None:
                    settings = {}
                if not isinstance(settings, dict):
                    if option is None:
                        fail(vkey, 'must be a mapping of value, config, '
                             'cfg_options, args (or give the axis a `key`)')
                    settings = dict(value=settings)
                _check_keys(settings, VALUE_KEYS, vkey, fail)
                value = settings.get('value', label)
                opts = _parse_options(
                    settings.get('cfg_options'), f'{vkey}.cfg_options', fail)
                if option is not None:
                    opts = {option: value, **opts}
                config = settings.get('config')
                if config is not None and not isinstance(config, str):
                    fail(f'{vkey}.config', 'must be a config path')
                variables = settings.get('vars') or {}
                if not isinstance(variables, dict):
                    fail(f'{vkey}.vars', 'must map names to values')
                for var, var_value in variables.items():
                    if not isinstance(var, str) or not NAME_RE.match(var):
                        fail(f'{vkey}.vars.{var}', 'a name is letters and '
                             'digits, starting with a letter')
                    try:
                        format_option(var_value)
                    except TypeError as e:
                        fail(f'{vkey}.vars.{var}', str(e))
                parsed.append(
                    AxisValue(label, value, config, opts,
                              _parse_args(
                                  settings.get('args'), f'{vkey}.args',
                                  fail), dict(variables)))
        else:
            fail(f'{key}.values', 'must be a non-empty list or mapping')
        labels = [v.label for v in parsed]
        for label in labels:
            if not LABEL_RE.match(label):
                fail(f'{key}.values', f'label {label!r} is not usable in a '
                     'directory name (letters, digits, ., + and -)')
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            fail(f'{key}.values', f'labels {dup} occur twice')
        axes.append(Axis(name, parsed))
    if sum(1 for a in axes if any(v.config for v in a.values)) > 1:
        fail(where, 'only one axis of a stage may set `config`')
    return axes


def format_label(value: Any) -> str:
    """The directory-name label of an axis value (``0.02`` -> ``'0.02'``)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        text = repr(value)
        return text if 'e' not in text else f'{value:f}'.rstrip('0')
    return str(value)


def format_option(value: Any) -> str:
    """``value`` as mmengine's ``DictAction`` parses it back.

    Raises:
        TypeError: A mapping (use dotted keys instead) or another type.
    """
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, (list, tuple)):
        inner = ','.join(format_option(v) for v in value)
        return f'[{inner}]' if isinstance(value, list) else f'({inner})'
    raise TypeError(f'{type(value).__name__} values cannot be passed with '
                    '--cfg-options; set each key with a dotted name instead')


# ------------------------------------------------------------ placeholders
def placeholders(text: str) -> List[str]:
    """The placeholder names in ``text`` (``{{``/``}}`` are literal)."""
    return [m.group(1) for m in PLACEHOLDER_RE.finditer(text)
            if m.group(1) is not None]


def _stage_templates(stage: Stage) -> List[Tuple[str, str]]:
    out = []
    for key, value in stage.spec.items():
        if isinstance(value, str):
            out.append((key, value))
        elif isinstance(value, list):
            out += [(f'{key}[{i}]', v) for i, v in enumerate(value)]
        elif isinstance(value, dict):
            out += [(f'{key}.{k}', v) for k, v in value.items()
                    if isinstance(v, str)]
    for axis in stage.axes:
        for v in axis.values:
            where = f'axes.{axis.name}.values.{v.label}'
            if v.config:
                out.append((f'{where}.config', v.config))
            out += [(f'{where}.cfg_options.{k}', o)
                    for k, o in v.cfg_options.items() if isinstance(o, str)]
            out += [(f'{where}.args', a) for a in v.args]
            out += [(f'{where}.vars.{k}', o) for k, o in v.vars.items()
                    if isinstance(o, str)]
    return out


def _check_placeholders(grid: Grid, stage: Stage, fail) -> None:
    chain = grid.chain(stage)
    earlier = {s.name: s for s in chain[:-1]}
    axes = {a.name for s in chain for a in s.axes}
    axes |= {k for s in chain for a in s.axes for v in a.values
             for k in v.vars}
    for key, text in _stage_templates(stage):
        where = f'{stage.where}.{key}'
        if PLACEHOLDER_RE.sub('', text).count('{') or PLACEHOLDER_RE.sub(
                '', text).count('}'):
            fail(where, f'unbalanced brace in {text!r} (write {{{{ or }}}} '
                 'for a literal brace)')
        for name in placeholders(text):
            head, _, attr = name.partition('.')
            if not attr:
                if name in OWN_NAMES or name in axes:
                    continue
                known = ', '.join(sorted(axes)) or 'none'
                own = ', '.join('{%s}' % n for n in OWN_NAMES)
                fail(where, f'{{{name}}} is neither an axis (or axis var) '
                     f'of this stage or its earlier stages ({known}) nor '
                     f'one of {own}')
            if head == 'inputs':
                if attr not in grid.inputs:
                    names = ', '.join(grid.inputs) or 'none'
                    fail(where, f'{{{name}}}: no input {attr!r} in the '
                         f'grid\'s `inputs` ({names})')
                continue
            if head not in earlier:
                fail(where, f'{{{name}}}: {head!r} is not an earlier stage in '
                     f'this stage\'s `after` chain '
                     f'({", ".join(earlier) or "none"})')
            if attr not in STAGE_ATTRS:
                fail(where, f'{{{name}}}: unknown attribute {attr!r}; one of '
                     f'{", ".join(STAGE_ATTRS)}')
            kind = earlier[head].kind
            if attr == 'metrics' and kind != 'test':
                fail(where, f'{{{name}}}: only test stages have metrics')
            if attr == 'checkpoint' and kind == 'test':
                fail(where, f'{{{name}}}: a test stage has no checkpoint')
            if attr == 'config' and kind not in ('train', 'test'):
                fail(where, f'{{{name}}}: a {kind} stage has no config')


def render(text: str, resolve: Callable[[str], str]) -> str:
    """Replace every ``{name}`` in ``text`` by ``resolve(name)``.

    ``{{`` and ``}}`` stand for literal braces.
    """

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
        stage_runs = []
        for parent in parents:
            for combo in _product(stage.axes):
                run = Run(grid, stage, combo, parent, order=len(runs))
                runs.append(run)
                stage_runs.append(run)
        by_stage[stage.name] = stage_runs
    return runs


def _product(axes: List[Axis]) -> List[Dict[str, AxisValue]]:
    combos: List[Dict[str, AxisValue]] = [{}]
    for axis in axes:
        combos = [{
            **c, axis.name: v
        } for c in combos for v in axis.values]
    return combos
