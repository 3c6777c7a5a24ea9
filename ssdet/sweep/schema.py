"""The grid file schema (``configs/grids/*.yaml``) as pydantic models.

pydantic checks the shape of a grid file: known keys, types, name and label
patterns, one model per stage kind (chosen by ``kind``). Every error names
the file and the key, e.g.
``grid.yaml: stages[1] (finetune).axes.lr.values: ...``; all errors of a
file are reported at once. What relates stages to each other (``after``,
placeholders) is checked by :func:`ssdet.sweep.grid.parse_grid`.
"""
import re
from typing import (Annotated, Any, Dict, List, Literal, Optional, Sequence,
                    Union)

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field,
                      PrivateAttr, StrictBool, StrictFloat, StrictInt,
                      StrictStr, ValidationError, ValidationInfo,
                      field_validator, model_validator)
from pydantic_core import PydanticCustomError

KINDS = ('train', 'test', 'convert', 'command')


class GridError(ValueError):
    """A grid file does not follow the schema of ``docs/sweeps.md``."""


def _error(message: str) -> PydanticCustomError:
    # the message is passed as context so that braces in user values are
    # not read as a template
    return PydanticCustomError('grid', '{message}', dict(message=message))


def _pattern(regex: str, rule: str):
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise _error(f'{value!r}: {rule}')
        return value

    return AfterValidator(check)


#: Grid and stage names: directory names.
Name = Annotated[
    StrictStr,
    _pattern(
        r'^[A-Za-z][A-Za-z0-9_-]*$',
        'use letters, digits, - and _, starting with a letter (it is '
        'a directory name)')]
#: Axis and variable names: ``<axis>-<label>`` parts of run names.
AxisName = Annotated[
    StrictStr,
    _pattern(
        r'^[A-Za-z][A-Za-z0-9]*$',
        'use letters and digits, starting with a letter (it becomes '
        'part of directory names: <axis>-<label> joined by _)')]
#: Labels of axis values: the ``<label>`` of run names.
Label = Annotated[
    StrictStr,
    _pattern(r'^[A-Za-z0-9.+-]+$',
             'not usable in a directory name (letters, digits, ., + and -)')]
Scalar = Union[StrictBool, StrictInt, StrictFloat, StrictStr]


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


def _option(value: Any) -> Any:
    try:
        format_option(value)
    except TypeError as e:
        raise _error(str(e)) from None
    return value


def _words(
        values: List[Union[StrictStr, StrictInt, StrictFloat]]) -> List[str]:
    return [str(v) for v in values]


#: A ``--cfg-options`` value (scalar, or list/tuple of them).
Option = Annotated[Any, AfterValidator(_option)]
Options = Dict[StrictStr, Option]
#: Command-line words; numbers are written as strings.
Words = Annotated[List[Union[StrictStr, StrictInt, StrictFloat]],
                  AfterValidator(_words)]


class _Model(BaseModel):
    model_config = ConfigDict(extra='forbid')


class AxisValue(_Model):
    """What one value of an axis sets (``docs/sweeps.md``, "Axes")."""
    value: Any = None
    config: Optional[StrictStr] = None
    cfg_options: Options = {}
    args: Words = []
    vars: Dict[AxisName, Option] = {}


class Axis(_Model):
    """An axis: ``values`` maps each label to its :class:`AxisValue`; the
    list form ``[0.01, 0.02]`` is read as labels whose value is themselves.
    With ``key``, each value also sets that config key."""
    key: Optional[StrictStr] = None
    values: Dict[Label, AxisValue]
    description: str = ''

    @model_validator(mode='before')
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return dict(values=data) if isinstance(data, list) else data

    @field_validator('values', mode='before')
    @classmethod
    def _labelled(cls, values: Any, info: ValidationInfo) -> Any:
        if isinstance(values, list) and values:
            for value in values:
                if not isinstance(value, (bool, int, float, str)):
                    raise _error('a listed value is a scalar; use a mapping '
                                 'label -> settings for more')
            labels = [format_label(v) for v in values]
            twice = sorted({x for x in labels if labels.count(x) > 1})
            if twice:
                raise _error(f'labels {twice} occur twice')
            return {
                label: dict(value=value)
                for label, value in zip(labels, values)
            }
        if not isinstance(values, dict) or not values:
            raise _error('must be a non-empty list or mapping')
        out = {}
        for label, settings in values.items():
            label = format_label(label)
            if settings is None:
                settings = {}
            elif not isinstance(settings, dict):
                if info.data.get('key') is None:
                    raise _error(f'{label}: must be a mapping of value, '
                                 'config, cfg_options, args, vars (or give '
                                 'the axis a `key`)')
                settings = dict(value=settings)
            out[label] = dict(dict(value=label), **settings)
        return out

    @model_validator(mode='after')
    def _set_key(self) -> 'Axis':
        if self.key is not None:
            for value in self.values.values():
                value.cfg_options = {
                    self.key: value.value,
                    **value.cfg_options
                }
        return self


class _Stage(_Model):
    name: Name
    after: Optional[StrictStr] = None
    axes: Dict[AxisName, Axis] = {}
    description: str = ''


class TrainStage(_Stage):
    kind: Literal['train']
    config: Optional[StrictStr] = None
    cfg_options: Options = {}
    args: Words = []


class TestStage(_Stage):
    kind: Literal['test']
    config: Optional[StrictStr] = None
    checkpoint: Optional[StrictStr] = None
    cfg_options: Options = {}
    args: Words = []
    dump: StrictBool = False
    #: Set when ``config`` is left to the train run it comes after: that
    #: run's ``cfg_options`` then apply too.
    _inherit_options: bool = PrivateAttr(False)

    @property
    def inherits_options(self) -> bool:
        return self._inherit_options


class ConvertStage(_Stage):
    kind: Literal['convert']
    src: StrictStr
    src_format: Optional[StrictStr] = None
    target: StrictStr = 'mmdet'
    dst: StrictStr = '{work_dir}/converted.pth'
    args: Words = []


class CommandStage(_Stage):
    kind: Literal['command']
    argv: Annotated[Words, Field(min_length=1)]
    artifact: StrictStr


Stage = Annotated[Union[TrainStage, TestStage, ConvertStage, CommandStage],
                  Field(discriminator='kind')]


class GridSpec(_Model):
    """A grid file: see ``docs/sweeps.md``, "Schema"."""
    name: Name
    description: str = ''
    work_root: Annotated[StrictStr, Field(min_length=1)] = 'work_dirs'
    inputs: Dict[StrictStr, Annotated[StrictStr, Field(min_length=1)]] = {}
    stages: Annotated[List[Stage], Field(min_length=1)]

    @field_validator('inputs')
    @classmethod
    def _relative(cls, inputs: Dict[str, str]) -> Dict[str, str]:
        for key, path in inputs.items():
            if path.startswith('/'):
                raise _error(f'{key}: {path!r} is absolute; give paths '
                             'relative to the directory the sweep runs in')
        return inputs


def validate(data: Any, path: str) -> GridSpec:
    """Validate the loaded YAML ``data`` of grid file ``path``.

    Raises:
        GridError: One line per problem, each naming ``path`` and the key.
    """
    if not isinstance(data, dict):
        raise GridError(f'{path}: a grid file is a mapping with a `stages` '
                        'list')
    try:
        return GridSpec.model_validate(data)
    except ValidationError as e:
        lines = [
            f'{path}: {error_key(err["loc"], data, err["type"])}: '
            f'{err["msg"]}' for err in e.errors(include_url=False)
        ]
        raise GridError('\n'.join(lines)) from None


def error_key(loc: Sequence[Union[str, int]],
              data: Any,
              error_type: str = '') -> str:
    """A pydantic error location as the grid file's key:
    ``('stages', 1, 'train', 'config')`` -> ``stages[1] (finetune).config``
    (the name of the stage added, the union tag and dict-key markers
    dropped)."""
    parts: List[str] = []
    node = data
    for item in loc:
        if item == '[key]':
            continue
        if isinstance(item, int):
            parts[-1] += f'[{item}]'
            node = node[item] if isinstance(
                node, list) and len(node) > item else None
            if isinstance(node, dict) and isinstance(node.get('name'), str):
                parts[-1] += f' ({node["name"]})'
            continue
        if isinstance(node, dict) and item not in node and item in KINDS:
            continue  # the tag of the stage union
        parts.append(str(item))
        node = node.get(item) if isinstance(node, dict) else None
    if error_type.startswith('union_tag'):
        parts.append('kind')
    return '.'.join(parts)
