"""Which weights of a checkpoint load into a backbone, as pure functions.

mmengine's ``Pretrained`` loads with ``strict=False``: a checkpoint whose
keys carry another prefix (``module.``, ``encoder.``...) loads nothing and
the detector silently trains from scratch. ``VerifiedPretrained`` calls
:func:`match_state_dict` and :func:`verify_report` to make that an error
that says what to do.
"""
import os.path as osp
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Tuple

#: Keys a module may lack in a checkpoint: BatchNorm's step counter (absent
#: from torchvision and detectron2 files, unused unless momentum=None).
IGNORED_MISSING_SUFFIXES = ('num_batches_tracked', )

#: Key prefixes of other formats and how to fix them; the first that starts
#: a key of the checkpoint wins.
PREFIX_HINTS: Tuple[Tuple[str, str], ...] = (
    ('module.encoder_q.',
     'a MoCo checkpoint: convert with tools/model_converters/convert.py '
     '--src-format moco'),
    ('module.encoder.', 'a PyContrast (InfoMin) checkpoint: convert with '
     'tools/model_converters/convert.py --src-format pycontrast'),
    ('module.backbone.',
     'saved from a DataParallel/DDP wrapper: strip "module." (convert with '
     'tools/model_converters/convert.py) or set prefix="module.backbone."'),
    ('encoder.',
     'an encoder-only checkpoint: set prefix="encoder." or convert it with '
     'tools/model_converters/convert.py'),
    ('conv1.',
     'a bare ResNet state dict (torchvision style): set prefix="" or convert '
     'it to "backbone.*" keys with tools/model_converters/convert.py'),
)


class TransferError(RuntimeError):
    """A pretrained backbone that would not (fully) transfer."""


@dataclass
class KeyReport:
    """What loading a state dict into a module would do: module keys found
    with the same shape (``matched``), absent (``missing``), of another
    shape (``shape_mismatch``: key, module shape, file shape); file keys
    under the prefix the module lacks (``unexpected``) and the count of
    those outside it by first component (``outside_prefix``: ``neck``...).
    """
    matched: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    shape_mismatch: List[Tuple[str, tuple,
                               tuple]] = field(default_factory=list)
    outside_prefix: Dict[str, int] = field(default_factory=dict)

    @property
    def missing_weights(self) -> List[str]:
        """Missing keys that are real weights (not ignorable buffers)."""
        suffixes = IGNORED_MISSING_SUFFIXES
        return [k for k in self.missing if not k.endswith(suffixes)]

    def summary(self) -> str:
        """A one-screen report: counts, then the keys grouped by module."""
        lines = [
            f'matched {len(self.matched)}, missing {len(self.missing)} '
            f'({len(self.missing_weights)} weights), unexpected '
            f'{len(self.unexpected)}, shape mismatch '
            f'{len(self.shape_mismatch)}'
        ]
        if self.missing:
            lines.append('  missing: ' + group_keys(self.missing))
        if self.unexpected:
            lines.append('  unexpected: ' + group_keys(self.unexpected))
        for key, mine, theirs in self.shape_mismatch[:5]:
            lines.append(f'  shape {key}: model {mine} vs file {theirs}')
        if self.outside_prefix:
            lines.append('  not loaded (outside the prefix): ' +
                         ', '.join(f'{k}.* ({n})'
                                   for k, n in self.outside_prefix.items()))
        return '\n'.join(lines)


def group_keys(keys: Iterable[str], depth: int = 2, limit: int = 8) -> str:
    """Keys summarised by their first ``depth`` components with counts:
    ``['layer1.0.conv1.weight', 'layer1.0.bn1.weight', 'conv1.weight']``
    gives ``'layer1.0.* (2), conv1.weight'``, at most ``limit`` groups."""
    keys = list(keys)
    counts = Counter('.'.join(k.split('.')[:depth]) for k in keys)
    whole = set(keys)  # a head that is a whole key is shown as such
    parts = [k if (k in whole and n == 1) else f'{k}.* ({n})'
             for k, n in list(counts.items())[:limit]]
    if len(counts) > limit:
        parts.append(f'... {len(counts) - limit} more groups')
    return ', '.join(parts)


def key_prefixes(keys: Iterable[str], depth: int = 1) -> Dict[str, int]:
    """Count keys by their first ``depth`` dot-separated components."""
    return dict(
        Counter('.'.join(k.split('.')[:min(depth, k.count('.'))]) + '.'
                for k in keys))


def suggest_fix(keys: Iterable[str], prefix: str) -> str:
    """Say what to do when ``prefix`` matches no key of a checkpoint."""
    keys = list(keys)
    for known, fix in PREFIX_HINTS:
        if any(k.startswith(known) for k in keys):
            return f'keys start with {known!r} — {fix}'
    counts = key_prefixes(keys)
    top = sorted(counts, key=lambda p: -counts[p])
    if top:
        return (f'no key starts with {prefix!r}; set init_cfg.prefix to the '
                f'prefix of the backbone weights (one of {top[:5]}) or '
                'convert the file with tools/model_converters/convert.py')
    return 'the file holds no weights'


def extract_state_dict(checkpoint: Any) -> Mapping[str, Any]:
    """The ``state_dict`` (or ``model``) of a loaded checkpoint, else the
    mapping itself."""
    if not isinstance(checkpoint, Mapping):
        raise TransferError(
            f'a checkpoint must be a dict, got {type(checkpoint).__name__}')
    for name in ('state_dict', 'model'):
        if isinstance(checkpoint.get(name), Mapping):
            return checkpoint[name]
    return checkpoint


def match_state_dict(module_state: Mapping[str, Any],
                     file_state: Mapping[str, Any],
                     prefix: str = 'backbone.') -> KeyReport:
    """Compare a module's state dict with a checkpoint's (full keys) under
    ``prefix`` (``''`` takes every key); values need only ``.shape``."""
    if prefix and not prefix.endswith('.'):
        prefix += '.'
    stripped = {k[len(prefix):]: v
                for k, v in file_state.items() if k.startswith(prefix)}
    outside = Counter(
        k.split('.')[0] for k in file_state if not k.startswith(prefix))
    report = KeyReport(outside_prefix=dict(outside))
    for key, value in module_state.items():
        if key not in stripped:
            report.missing.append(key)
            continue
        mine = tuple(getattr(value, 'shape', ()))
        theirs = tuple(getattr(stripped[key], 'shape', ()))
        if mine != theirs:
            report.shape_mismatch.append((key, mine, theirs))
        else:
            report.matched.append(key)
    report.unexpected = [k for k in stripped if k not in module_state]
    return report


def verify_report(report: KeyReport, filename: str, prefix: str,
                  file_keys: Iterable[str],
                  allow_missing: Iterable[str] = ()) -> None:
    """Raise :class:`TransferError` unless the backbone transfers fully:
    some weight matched, none has another shape, and none is missing except
    under the ``allow_missing`` key prefixes (new layers). ``file_keys``
    (all keys of ``filename``) feed the hint."""
    name = osp.basename(filename)
    file_keys = list(file_keys)
    found = ', '.join(f'{p}* ({n})'
                      for p, n in list(key_prefixes(file_keys, 2).items())[:8])
    allow = tuple(allow_missing)
    missing = [k for k in report.missing_weights if not k.startswith(allow)]
    if not report.matched:
        raise TransferError(
            f'{name}: no weight was loaded with prefix {prefix!r} '
            f'({filename}). The file holds {found or "no keys"}. Fix: '
            f'{suggest_fix(file_keys, prefix)}.')
    if report.shape_mismatch:
        key, mine, theirs = report.shape_mismatch[0]
        raise TransferError(
            f'{name}: {len(report.shape_mismatch)} weights have other '
            f'shapes than the model (first: {key} model {mine} vs file '
            f'{theirs}). Is the backbone depth/width the one that was '
            'pretrained (e.g. ResNet-18 vs ResNet-50)?')
    if missing:
        raise TransferError(
            f'{name}: {len(missing)} backbone weights are missing under '
            f'prefix {prefix!r}: {group_keys(missing)}. The file holds '
            f'{found}. Fix: pretrain/convert the same architecture, or list '
            'new layers in init_cfg.allow_missing.')
