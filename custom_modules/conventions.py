"""How a backbone saw its inputs: the one record of pretraining conventions.

A transferred backbone only helps when fine-tuning feeds it what pretraining
fed it: the same mean, std and channel order, and the same ResNet (depth,
norm family, stem, style). :class:`PretrainConventions` is that record,
built from a model, config dicts, config *text* (read with :mod:`ast`:
nothing in it runs) or a checkpoint's ``meta``, and compared in one place.
"""
import ast
import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Tuple

#: Norm layers that are interchangeable for transfer (other names are their
#: own family).
NORM_FAMILIES = dict(BN2d='BN', SyncBN='BN', MMSyncBN='BN', FrozenBN='BN')


#: Type of each non-numeric field of a recorded ``pretrain_cfg``.
_TYPES = dict(
    bgr_to_rgb=bool, depth=int, norm=str, stem=str, style=str, basis=str)


class ConventionsError(ValueError):
    """A recorded ``pretrain_cfg`` that is not a valid record."""


def _floats(value: Any, key: str) -> Tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or len(value) not in (1, 3) \
            or not all(isinstance(v, (int, float)) and not isinstance(
                v, bool) for v in value):
        raise ConventionsError(f'{key} must be 1 or 3 numbers, got '
                               f'{value!r}')
    return tuple(float(v) for v in value)


@dataclasses.dataclass(frozen=True)
class PretrainConventions:
    """Input and backbone conventions of a pretrained backbone; a field a
    source does not record is None and is not compared.

    Args:
        mean (tuple[float], optional): Per-channel mean, 0-255 scale, in the
            order the network sees.
        std (tuple[float], optional): Per-channel std, same scale/order.
        bgr_to_rgb (bool, optional): Whether images loaded as BGR are
            converted to RGB (mmengine ``data_preprocessor`` name).
        depth (int, optional): ResNet depth.
        norm (str, optional): Norm layer type (``'BN'``, ``'GN'``...).
        stem (str, optional): ``'7x7'`` (one 7x7 conv, as torchvision) or
            ``'deep'`` (three 3x3 convs, ``deep_stem=True``).
        style (str, optional): ``'pytorch'`` (stride in the 3x3 conv) or
            ``'caffe'`` (stride in the first 1x1 conv).
        basis (str, optional): Where the values come from; not compared.
    """
    mean: Optional[Tuple[float, ...]] = None
    std: Optional[Tuple[float, ...]] = None
    bgr_to_rgb: Optional[bool] = None
    depth: Optional[int] = None
    norm: Optional[str] = None
    stem: Optional[str] = None
    style: Optional[str] = None
    basis: Optional[str] = None

    @classmethod
    def from_cfg(cls,
                 data_preprocessor: Optional[Mapping] = None,
                 backbone: Optional[Mapping] = None,
                 basis: Optional[str] = None) -> 'PretrainConventions':
        """From a ``data_preprocessor`` and a ``backbone`` config dict."""
        dp = dict(data_preprocessor or {})
        bb = dict(backbone or {})
        fields: Dict[str, Any] = dict(basis=basis)
        for key in ('mean', 'std'):
            if dp.get(key) is not None:
                fields[key] = _floats(dp[key], key)
        if 'bgr_to_rgb' in dp or 'rgb_to_bgr' in dp:
            fields['bgr_to_rgb'] = bool(dp.get('bgr_to_rgb', False))
        if bb:
            if bb.get('depth') is not None:
                fields['depth'] = int(bb['depth'])
            fields['norm'] = dict(bb.get('norm_cfg') or {}).get('type', 'BN')
            fields['stem'] = 'deep' if bb.get('deep_stem') else '7x7'
            fields['style'] = bb.get('style', 'pytorch')
        return cls(**fields)

    @classmethod
    def from_model(cls, model: Any) -> 'PretrainConventions':
        """From a built (possibly wrapped) model's ``data_preprocessor`` and
        ``backbone``; what they do not expose stays None."""
        from mmengine.model import is_model_wrapper
        model = model.module if is_model_wrapper(model) else model
        fields: Dict[str, Any] = {}
        dp = getattr(model, 'data_preprocessor', None)
        if dp is not None and getattr(dp, '_enable_normalize', False):
            fields['mean'] = tuple(float(v) for v in dp.mean.flatten())
            fields['std'] = tuple(float(v) for v in dp.std.flatten())
        if dp is not None and hasattr(dp, '_channel_conversion'):
            fields['bgr_to_rgb'] = bool(dp._channel_conversion)
        bb = getattr(model, 'backbone', None)
        if bb is not None:
            if getattr(bb, 'depth', None) is not None:
                fields['depth'] = int(bb.depth)
            if isinstance(getattr(bb, 'norm_cfg', None), dict):
                fields['norm'] = bb.norm_cfg.get('type', 'BN')
            if hasattr(bb, 'deep_stem'):
                fields['stem'] = 'deep' if bb.deep_stem else '7x7'
            if isinstance(getattr(bb, 'style', None), str):
                fields['style'] = bb.style
        return cls(basis=f'{type(model).__name__} model', **fields)

    @classmethod
    def from_cfg_text(cls, text: str) -> Optional['PretrainConventions']:
        """From config text read as data (:func:`literal_config`):
        ``model.data_preprocessor`` (else a top-level one) and
        ``model.backbone``.

        Returns:
            PretrainConventions or None: None when the text records neither.
        """
        cfg = literal_config(text)
        model = cfg.get('model') if isinstance(cfg.get('model'), dict) else {}
        dp = model.get('data_preprocessor') or cfg.get('data_preprocessor')
        bb = model.get('backbone')
        dp = dp if isinstance(dp, dict) else None
        bb = bb if isinstance(bb, dict) else None
        if dp is None and bb is None:
            return None
        try:
            return cls.from_cfg(dp, bb, basis='config text in the checkpoint')
        except (ConventionsError, TypeError, ValueError):
            return None

    @classmethod
    def from_dict(cls, record: Mapping) -> 'PretrainConventions':
        """From a ``meta['pretrain_cfg']`` dict; unknown keys are ignored.

        Raises:
            ConventionsError: A known key holds a value of the wrong type.
        """
        fields: Dict[str, Any] = {}
        for key in ('mean', 'std'):
            if record.get(key) is not None:
                fields[key] = _floats(record[key], key)
        for key, kind in _TYPES.items():
            value = record.get(key)
            if value is None:
                continue
            if not isinstance(value, kind) or (kind is int
                                               and isinstance(value, bool)):
                raise ConventionsError(
                    f'{key} must be {kind.__name__}, got {value!r}')
            fields[key] = value
        return cls(**fields)

    @classmethod
    def from_meta(cls,
                  meta: Optional[Mapping]) -> Optional['PretrainConventions']:
        """From a checkpoint's ``meta``: ``pretrain_cfg``, else ``cfg`` text.

        Returns:
            PretrainConventions or None: None when the meta records neither.

        Raises:
            ConventionsError: ``meta['pretrain_cfg']`` is malformed.
        """
        if not isinstance(meta, Mapping):
            return None
        if isinstance(meta.get('pretrain_cfg'), Mapping):
            return cls.from_dict(meta['pretrain_cfg'])
        text = meta.get('cfg')
        if isinstance(text, str) and text.strip():
            return cls.from_cfg_text(text)
        return None

    def to_dict(self) -> Dict[str, Any]:
        """The record for ``meta['pretrain_cfg']``: the fields that are set,
        lists for mean/std, and ``channel_order`` ('rgb'/'bgr')."""
        out = {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items() if v is not None
        }
        if self.bgr_to_rgb is not None:
            out['channel_order'] = 'rgb' if self.bgr_to_rgb else 'bgr'
        return out

    def compare(self,
                finetune: 'PretrainConventions',
                rtol: float = 0.01) -> List[str]:
        """The differences between this (pretraining) and ``finetune``, over
        the fields both set; norms compare by family (BN = SyncBN).

        Args:
            finetune (PretrainConventions): What fine-tuning uses.
            rtol (float): Relative tolerance of mean/std. Defaults to 0.01,
                which accepts facebookresearch/swav's red std (0.228 vs
                0.229) and catches swapped channels and unnormalised input.

        Returns:
            list[str]: One readable line per difference; empty if none.
        """
        a, b = self, finetune
        problems = []
        if None not in (a.bgr_to_rgb, b.bgr_to_rgb) \
                and a.bgr_to_rgb != b.bgr_to_rgb:
            order = {True: 'RGB', False: 'BGR'}
            problems.append(
                f'channel order: pretrained on {order[a.bgr_to_rgb]} input '
                f'(bgr_to_rgb={a.bgr_to_rgb}), fine-tuning feeds '
                f'{order[b.bgr_to_rgb]} (bgr_to_rgb={b.bgr_to_rgb})')
        for key in ('mean', 'std'):
            x, y = getattr(a, key), getattr(b, key)
            if x is None or y is None:
                continue
            if len(x) != len(y) or any(
                    abs(p - q) > rtol * max(abs(p), abs(q), 1e-6)
                    for p, q in zip(x, y)):
                problems.append(f'{key}: pretrained with {list(x)}, '
                                f'fine-tuning with {list(y)}')
        if None not in (a.depth, b.depth) and a.depth != b.depth:
            problems.append(f'depth: pretrained ResNet-{a.depth}, '
                            f'fine-tuning ResNet-{b.depth}')
        if None not in (a.norm, b.norm) and NORM_FAMILIES.get(
                a.norm, a.norm) != NORM_FAMILIES.get(b.norm, b.norm):
            problems.append(
                f'norm: pretrained with {a.norm}, fine-tuning with {b.norm}')
        for key in ('stem', 'style'):
            x, y = getattr(a, key), getattr(b, key)
            if None not in (x, y) and 'unknown' not in (x, y) and x != y:
                problems.append(f'{key}: pretrained {x!r}, fine-tuning {y!r}')
        return problems


class _NotLiteral(Exception):
    pass


def _literal(node: ast.AST) -> Any:
    """The value of a literal expression; ``dict(k=v)`` calls included."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == 'dict' and not node.args:
        out = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise _NotLiteral
            out[kw.arg] = _literal(kw.value)
        return out
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise _NotLiteral
        return {
            _literal(k): _literal(v)
            for k, v in zip(node.keys, node.values)
        }
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e) for e in node.elts]
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError,
            RecursionError) as e:
        raise _NotLiteral from e


def _partial(node: ast.AST) -> Any:
    """Like :func:`_literal`, but a ``dict(...)`` keeps the keys whose values
    are literal and drops the others (e.g. ``type=SomeClass``)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == 'dict':
        out = {}
        for kw in node.keywords:
            if kw.arg is not None:
                try:
                    out[kw.arg] = _partial(kw.value)
                except _NotLiteral:
                    pass
        return out
    return _literal(node)


def literal_config(text: str) -> Dict[str, Any]:
    """The top-level ``name = value`` assignments of config text, as data.

    The text is parsed with :mod:`ast`, never executed: literals, lists,
    tuples, dicts and ``dict(...)`` calls of them are read; any other value
    (or ``dict`` entry) and every other statement (imports, ``_base_``...)
    is ignored.

    Args:
        text (str): Config text, e.g. ``checkpoint['meta']['cfg']``.

    Returns:
        dict: Name -> value of the literal assignments; empty if the text is
        not Python.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return {}
    out: Dict[str, Any] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        if not names:
            continue
        try:
            value = _partial(node.value)
        except (_NotLiteral, RecursionError):
            continue
        for name in names:
            out[name] = value
    return out
