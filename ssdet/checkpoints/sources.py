"""Splitting a source checkpoint by role: online and momentum encoders,
projection heads, the negative-key queue, and what no target uses.

:func:`split_source` gives a :class:`SourceParts` for each of
:data:`~.formats.FORMATS`; the report of a conversion names every part by
the source's own keys (``model['module.encoder.*']`` ...).
"""
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch

from custom_modules.conventions import PretrainConventions
from .formats import (ENCODERS, FORMATS, MOCO_MOMENTUM_BACKBONE,
                      MOCO_MOMENTUM_NECK, CheckpointFormatError, describe_keys,
                      key_root, strip_module)
from .resnet import RESNET_ROOTS


@dataclass
class SourceParts:
    """What a source checkpoint holds, split by role.

    Attributes:
        backbone (dict): Online (query) encoder, torchvision names.
        momentum_backbone (dict, optional): Momentum (EMA) encoder.
        head (dict, optional): Projection head of the online encoder, with
            the source's own sub-keys (e.g. ``0.weight`` or ``mlp.0.weight``).
        momentum_head (dict, optional): Projection head of the EMA encoder.
        jigsaw_head (dict, optional): Jigsaw (PIRL) head of the online
            encoder, with the source's own sub-keys (PyContrast's
            ``head_jig``: ``fc1.0.weight`` ...; ours: ``mlp.0.weight`` ...).
        momentum_jigsaw_head (dict, optional): The EMA encoder's copy of
            the jigsaw head (PyContrast averages it but never applies it).
        queue (Tensor, optional): Negative-key queue, ``(dim, K)`` as in
            mmselfsup.
        queue_ptr (int): Position of the queue pointer.
        names (dict): Role -> the source's name of that part, for reports.
        other (dict): Group of source keys that no target uses -> count.
        unused_entries (list[str]): Top-level entries that are not weights
            (``optimizer``, ``epoch``, ``opt`` ...).
        source_tensors (int): Number of tensors in the source's model parts.
        epoch (int, optional): Training epoch recorded in the source.
        pretrain_cfg (PretrainConventions, optional): Conventions read, as
            data, from the source's ``meta['cfg']``.
    """
    backbone: Dict[str, torch.Tensor]
    momentum_backbone: Optional[Dict[str, torch.Tensor]] = None
    head: Optional[Dict[str, torch.Tensor]] = None
    momentum_head: Optional[Dict[str, torch.Tensor]] = None
    jigsaw_head: Optional[Dict[str, torch.Tensor]] = None
    momentum_jigsaw_head: Optional[Dict[str, torch.Tensor]] = None
    queue: Optional[torch.Tensor] = None
    queue_ptr: int = 0
    names: Dict[str, str] = field(default_factory=dict)
    other: Dict[str, int] = field(default_factory=dict)
    unused_entries: List[str] = field(default_factory=list)
    source_tensors: int = 0
    epoch: Optional[int] = None
    pretrain_cfg: Optional[PretrainConventions] = None


def _group(key: str) -> str:
    parts = key.split('.')
    depth = 2 if parts[0] in ('module', 'encoder_k') and len(parts) > 2 else 1
    return '.'.join(parts[:depth]) + '.*'


def _count_groups(keys, entry: Optional[str] = None) -> Dict[str, int]:
    """Count keys per group; ``entry`` names the top-level dict."""
    groups: Dict[str, int] = OrderedDict()
    for key in keys:
        name = _group(key) if entry is None else f"{entry}['{_group(key)}']"
        groups[name] = groups.get(name, 0) + 1
    return groups


def take_prefix(state: Mapping, prefix: str) -> Dict[str, Any]:
    """The entries under ``prefix``, with the prefix removed."""
    return OrderedDict(
        (k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))


def _split_trunk(state: Mapping) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Split a flat ResNet state dict into trunk keys and the rest."""
    trunk, rest = OrderedDict(), OrderedDict()
    for k, v in state.items():
        (trunk if key_root(k) in RESNET_ROOTS else rest)[k] = v
    return trunk, rest


def _tensor_count(*states: Optional[Mapping]) -> int:
    return sum(
        sum(isinstance(v, torch.Tensor) for v in s.values()) for s in states
        if s)


def _split_pycontrast(ckpt: Mapping) -> SourceParts:
    model = ckpt['model']
    root = 'module.' if any(k.startswith('module.encoder.')
                            for k in model) else ''
    used = (root + 'encoder.', root + 'head.', root + 'head_jig.')
    parts = SourceParts(
        backbone=take_prefix(model, used[0]),
        head=take_prefix(model, used[1]) or None,
        jigsaw_head=take_prefix(model, used[2]) or None,
        names=dict(
            backbone=f"model['{used[0]}*']",
            head=f"model['{used[1]}*']",
            jigsaw_head=f"model['{used[2]}*']"),
        other=_count_groups((k for k in model if not k.startswith(used)),
                            'model'),
        epoch=ckpt.get('epoch')
        if isinstance(ckpt.get('epoch'), int) else None)
    ema = ckpt.get('model_ema')
    if isinstance(ema, Mapping):
        ema = strip_module(ema)
        parts.momentum_backbone = take_prefix(ema, 'encoder.') or None
        parts.momentum_head = take_prefix(ema, 'head.') or None
        parts.momentum_jigsaw_head = take_prefix(ema, 'head_jig.') or None
        parts.names.update(
            momentum_backbone="model_ema['encoder.*']",
            momentum_head="model_ema['head.*']",
            momentum_jigsaw_head="model_ema['head_jig.*']")
        parts.other.update(
            _count_groups(
                (k for k in ema
                 if not k.startswith(('encoder.', 'head.', 'head_jig.'))),
                'model_ema'))
    contrast = ckpt.get('contrast')
    if isinstance(contrast, Mapping):
        memory = contrast.get('memory')
        if isinstance(memory, torch.Tensor) and memory.dim() == 2:
            # PyContrast's RGBMoCo keeps K x D rows; mmselfsup a D x K queue.
            # Its write pointer is a plain attribute and is not saved.
            parts.queue = memory.t().contiguous()
            parts.names['queue'] = "contrast['memory']"
        for k in contrast:
            if k != 'memory' or parts.queue is None:
                parts.other[f"contrast['{k}']"] = 1
    parts.unused_entries = sorted(
        k for k in ckpt if k not in ('model', 'model_ema', 'contrast'))
    parts.source_tensors = _tensor_count(model, ckpt.get('model_ema'),
                                         contrast)
    return parts


def _split_flat(ckpt: Mapping, fmt: str) -> SourceParts:
    """SwAV and torchvision: one flat state dict, maybe under state_dict."""
    nested = isinstance(ckpt.get('state_dict'), Mapping)
    state = ckpt['state_dict'] if nested else ckpt
    prefix = 'module.' if state and all(
        k.startswith('module.') for k in state) else ''
    flat = strip_module(state)
    trunk, rest = _split_trunk(flat)
    parts = SourceParts(
        backbone=trunk,
        names=dict(backbone=prefix + '{conv1,bn1,layer1-4}.*'),
        unused_entries=sorted(k for k in ckpt
                              if k != 'state_dict') if nested else [],
        source_tensors=_tensor_count(flat))
    if fmt == 'swav':
        parts.head = take_prefix(rest, 'projection_head.') or None
        parts.names['head'] = prefix + 'projection_head.*'
        if parts.head:
            rest = OrderedDict((k, v) for k, v in rest.items()
                               if not k.startswith('projection_head.'))
        epoch = ckpt.get('epoch') if nested else None
        parts.epoch = epoch if isinstance(epoch, int) else None
    parts.other = _count_groups(prefix + k for k in rest)
    return parts


def _split_mmselfsup(ckpt: Mapping) -> SourceParts:
    state = ckpt['state_dict']
    used = ('backbone.', 'neck.', MOCO_MOMENTUM_BACKBONE, MOCO_MOMENTUM_NECK,
            'jigsaw_neck.', 'queue', 'queue_ptr', 'encoder_k.steps')
    parts = SourceParts(
        backbone=take_prefix(state, 'backbone.'),
        momentum_backbone=take_prefix(state, MOCO_MOMENTUM_BACKBONE) or None,
        head=take_prefix(state, 'neck.') or None,
        momentum_head=take_prefix(state, MOCO_MOMENTUM_NECK) or None,
        jigsaw_head=take_prefix(state, 'jigsaw_neck.') or None,
        names=dict(
            backbone='backbone.*',
            momentum_backbone=MOCO_MOMENTUM_BACKBONE + '*',
            head='neck.*',
            momentum_head=MOCO_MOMENTUM_NECK + '*',
            jigsaw_head='jigsaw_neck.*',
            queue='queue'),
        other=_count_groups(
            k for k in state
            if not k.startswith(used[:5]) and k not in used[5:]),
        unused_entries=sorted(k for k in ckpt if k != 'state_dict'),
        source_tensors=_tensor_count(state))
    queue = state.get('queue')
    if isinstance(queue, torch.Tensor) and queue.dim() == 2:
        parts.queue = queue
        ptr = state.get('queue_ptr')
        parts.queue_ptr = int(ptr.reshape(-1)[0]) if isinstance(
            ptr, torch.Tensor) and ptr.numel() else 0
    meta = ckpt.get('meta')
    if isinstance(meta, Mapping):
        epoch = meta.get('epoch')
        parts.epoch = epoch if isinstance(epoch, int) else None
        if isinstance(meta.get('cfg'), str):
            parts.pretrain_cfg = PretrainConventions.from_cfg_text(
                meta['cfg'])
    return parts


#: Formats that keep their weights under one top-level entry: format ->
#: (that entry, what such a file is, its splitter).
_NESTED = {
    'pycontrast': ('model', 'a PyContrast trainer file', _split_pycontrast),
    'mmselfsup': ('state_dict', 'an mmselfsup checkpoint', _split_mmselfsup),
}


def split_source(ckpt: Any,
                 fmt: str,
                 filename: str = '<checkpoint>') -> SourceParts:
    """Split a loaded checkpoint of format ``fmt`` into its parts.

    Args:
        ckpt: What :func:`~.formats.load_source` returned.
        fmt (str): One of :data:`FORMATS`.
        filename (str): Named in error messages.

    Returns:
        SourceParts: The encoders, heads, queue and what is left over.

    Raises:
        CheckpointFormatError: The checkpoint has no ResNet trunk where
            ``fmt`` keeps it.
    """
    if fmt not in FORMATS:
        raise ValueError(f'unknown source format {fmt!r}; use one of '
                         f'{", ".join(FORMATS)}')
    if not isinstance(ckpt, Mapping):
        raise CheckpointFormatError(
            f'{filename}: expected a dict, found {describe_keys(ckpt)}')
    if fmt in _NESTED:
        entry, what, split = _NESTED[fmt]
        if not isinstance(ckpt.get(entry), Mapping):
            raise CheckpointFormatError(
                f'{filename}: {what} has a "{entry}" entry; this one has '
                f'{describe_keys(ckpt)}')
        parts = split(ckpt)
    else:
        parts = _split_flat(ckpt, fmt)
    if not parts.backbone:
        raise CheckpointFormatError(
            f'{filename}: no ResNet weights found where the {fmt} format '
            f'keeps them ({parts.names.get("backbone")}); the file has '
            f'{describe_keys(ckpt)}')
    return parts


def to_resnet_state_dict(
        ckpt: Any,
        fmt: str,
        encoder: str = 'online',
        filename: str = '<checkpoint>') -> 'OrderedDict[str, torch.Tensor]':
    """The ResNet trunk of a checkpoint in torchvision/mmdet names.

    Args:
        ckpt: What :func:`~.formats.load_source` returned.
        fmt (str): One of :data:`FORMATS`.
        encoder (str): ``'online'`` (query encoder) or ``'momentum'`` (EMA
            encoder of PyContrast/mmselfsup MoCo). Defaults to 'online'.
        filename (str): Named in error messages.

    Returns:
        OrderedDict: ``conv1.weight`` ... ``layer4.*``, not yet verified
        (see :func:`~.resnet.verify_resnet_state_dict`).
    """
    parts = split_source(ckpt, fmt, filename)
    return pick_encoder(parts, encoder, fmt, filename)


def pick_encoder(parts: SourceParts, encoder: str, fmt: str,
                 filename: str) -> Dict[str, torch.Tensor]:
    """The online or the momentum trunk of ``parts``."""
    if encoder not in ENCODERS:
        raise ValueError(f'encoder must be one of {ENCODERS}, got '
                         f'{encoder!r}')
    if encoder == 'online':
        return OrderedDict(parts.backbone)
    if not parts.momentum_backbone:
        raise CheckpointFormatError(
            f'{filename}: this {fmt} checkpoint has no momentum encoder; '
            'use the online encoder')
    return OrderedDict(parts.momentum_backbone)
