"""How a backbone saw its inputs: the one record of pretraining conventions
(mean, std, channel order; ResNet depth, norm family, stem, style) that
fine-tuning must match, built from a model, config dicts, config text
(parsed with :mod:`ast`, never run) or a checkpoint's ``meta``."""
import ast
import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Tuple

#: Norm layers that are interchangeable for transfer.
NORM_FAMILIES = dict(BN2d='BN', SyncBN='BN', MMSyncBN='BN', FrozenBN='BN')
#: Type of each non-numeric field of a recorded ``pretrain_cfg``.
_TYPES = dict(
    bgr_to_rgb=bool, depth=int, norm=str, stem=str, style=str, basis=str)


class ConventionsError(ValueError):
    """A recorded ``pretrain_cfg`` that is not a valid record."""


def _mean_std(source: Mapping) -> Dict[str, Tuple[float, ...]]:
    """``mean`` and ``std`` of ``source`` (where set) as float tuples."""
    out = {}
    for key in ('mean', 'std'):
        value = source.get(key)
        if value is None:
            continue
        if not isinstance(value, (list, tuple)) or len(value) not in (1, 3) \
                or not all(isinstance(v, (int, float))
                           and not isinstance(v, bool) for v in value):
            raise ConventionsError(
                f'{key} must be 1 or 3 numbers, got {value!r}')
        out[key] = tuple(float(v) for v in value)
    return out


@dataclasses.dataclass(frozen=True)
class PretrainConventions:
    """Input and backbone conventions of a pretrained backbone; a field a
    source does not record is None and is not compared.

    Args:
        mean (tuple[float], optional): Per-channel mean (0-255 scale) in
            the order the network sees; ``std`` likewise.
        bgr_to_rgb (bool, optional): As in mmengine's data preprocessor.
        depth (int, optional): ResNet depth.
        norm (str, optional): Norm layer type (``'BN'``, ``'GN'``...).
        stem (str, optional): ``'7x7'`` or ``'deep'`` (``deep_stem=True``).
        style (str, optional): ``'pytorch'`` or ``'caffe'``.
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
        fields: Dict[str, Any] = dict(basis=basis, **_mean_std(dp))
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
        """From ``model.data_preprocessor`` (else a top-level one) and
        ``model.backbone`` of :func:`literal_config` text, else None."""
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
        """From a ``meta['pretrain_cfg']`` dict, ignoring unknown keys;
        :class:`ConventionsError` for a known key of the wrong type."""
        fields: Dict[str, Any] = _mean_std(record)
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
        """From a checkpoint's ``meta``: ``pretrain_cfg`` (a malformed one
        raises :class:`ConventionsError`), else ``cfg`` text, else None."""
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
        out = {k: list(v) if isinstance(v, tuple) else v
               for k, v in dataclasses.asdict(self).items() if v is not None}
        if self.bgr_to_rgb is not None:
            out['channel_order'] = 'rgb' if self.bgr_to_rgb else 'bgr'
        return out

    def compare(self,
                finetune: 'PretrainConventions',
                rtol: float = 0.01) -> List[str]:
        """One readable line per difference between this (pretraining) and
        ``finetune`` over the fields both set; norms compare by family.

        ``rtol`` (mean/std) accepts facebookresearch/swav's red std (0.228
        vs 0.229) and catches swapped channels and unnormalised input.
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


def _literal(node: ast.AST, partial: bool = False) -> Any:
    """The value of a literal expression, ``dict(k=v)`` calls included;
    with ``partial``, such a call drops its non-literal entries (e.g.
    ``type=SomeClass``) instead of failing."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == 'dict' and (partial or not node.args):
        out = {}
        for kw in node.keywords:
            try:
                if kw.arg is None:
                    raise _NotLiteral
                out[kw.arg] = _literal(kw.value, partial)
            except _NotLiteral:
                if not partial:
                    raise
        return out
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise _NotLiteral
        return {_literal(k): _literal(v)
                for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e) for e in node.elts]
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError,
            RecursionError) as e:
        raise _NotLiteral from e


def literal_config(text: str) -> Dict[str, Any]:
    """The top-level ``name = value`` assignments of config text (e.g.
    ``meta['cfg']``) whose values are literals, lists, tuples, dicts or
    ``dict(...)`` calls of them; parsed with :mod:`ast`, never executed.
    Other values, ``dict(...)`` entries and statements are left out."""
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
            value = _literal(node.value, partial=True)
        except (_NotLiteral, RecursionError):
            continue
        for name in names:
            out[name] = value
    return out
