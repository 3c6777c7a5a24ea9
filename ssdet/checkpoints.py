"""Key maps from released ResNet checkpoints to MMDetection and mmselfsup.

Four source layouts are understood:

* ``pycontrast``: trainer files of `PyContrast
  <https://github.com/HobbitLong/PyContrast>`_ (InfoMin, MoCo v2, ...):
  ``{'model': {'module.encoder.*', 'module.head.*', 'module.head_jig.*'},
  'model_ema': {'encoder.*', 'head.*', ...}, 'contrast': {'memory': K x D},
  'optimizer': ..., 'epoch': int}`` (key semantics of PyContrast's
  ``ContrastTrainer.save`` and ``detection/convert_pretrained.py``).
* ``swav``: `facebookresearch/swav <https://github.com/facebookresearch/swav>`_
  releases, a bare DDP state dict (``module.conv1.weight`` ...,
  ``module.projection_head.*``, ``module.prototypes.weight``), or a training
  checkpoint holding it under ``state_dict``.
* ``torchvision``: a bare ``torchvision.models.resnet*`` state dict (with
  ``fc.*``), optionally with a ``module.`` prefix or under ``state_dict``.
* ``mmselfsup``: an mmengine checkpoint ``{'meta', 'state_dict', ...}`` with
  ``backbone.*``, ``neck.*``, ``head.*`` and, for MoCo, the momentum encoder
  ``encoder_k.module.0.*`` (backbone) / ``encoder_k.module.1.*`` (neck) and
  the ``queue``.

All four name the ResNet like torchvision, which is also how mmdet and mmcls
name theirs (``conv1``, ``bn1``, ``layer1.0.conv1``, ``downsample.0/1``), so
the backbone map is a prefix change; what needs care is finding the right
tensors, checking that all of them are there with the right shapes, and
writing what the consumer expects:

* ``mmdet``: ``{'meta': {...}, 'state_dict': {'backbone.*'}}``; load it with
  ``init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=...)``.
* ``mmselfsup-moco``: the state dict of mmselfsup 1.0's ``MoCo`` (query
  encoder ``backbone.*``/``neck.mlp.*``, momentum encoder
  ``encoder_k.module.0.*``/``encoder_k.module.1.mlp.*``, ``queue``,
  ``queue_ptr``, ``encoder_k.steps``), for ``load_from``.

Files are read with ``weights_only=True`` through
:func:`custom_modules.compat.checkpoint.load_checkpoint_file`; the only type
added to its allow-list here is ``argparse.Namespace`` (training scripts pickle
their options), which holds plain values and runs no code.
"""
import argparse
import hashlib
import os
import os.path as osp
import re
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch

from custom_modules.compat.checkpoint import (UnsafeCheckpointError,
                                              load_checkpoint_file)
from custom_modules.conventions import PretrainConventions

FORMATS = ('pycontrast', 'swav', 'torchvision', 'mmselfsup')
TARGETS = ('mmdet', 'mmselfsup-moco')
ENCODERS = ('online', 'momentum')

#: depth -> (block type, blocks per stage), as in mmdet's ``ResNet``.
RESNET_ARCH = {
    18: ('basic', (2, 2, 2, 2)),
    34: ('basic', (3, 4, 6, 3)),
    50: ('bottleneck', (3, 4, 6, 3)),
    101: ('bottleneck', (3, 4, 23, 3)),
    152: ('bottleneck', (3, 8, 36, 3)),
}

#: Top-level names of the ResNet trunk in torchvision/mmdet naming.
RESNET_ROOTS = ('conv1', 'bn1', 'layer1', 'layer2', 'layer3', 'layer4')

#: Momentum-encoder prefixes of mmselfsup 1.0's ``MoCo``: its ``encoder_k``
#: is ``ExponentialMovingAverage(nn.Sequential(backbone, neck))``.
MOCO_MOMENTUM_BACKBONE = 'encoder_k.module.0.'
MOCO_MOMENTUM_NECK = 'encoder_k.module.1.'

#: ImageNet statistics on the 0-255 scale, RGB order.
IMAGENET_MEAN = [123.675, 116.28, 103.53]
IMAGENET_STD = [58.395, 57.12, 57.375]

#: How each source was pretrained, as far as the weights cannot tell:
#: (basis, mean, std) on the 0-255 scale, RGB order. torchvision's recipe
#: (PIL RGB, ``Normalize`` with the ImageNet mean/std) is shared by PyContrast
#: (``datasets/util.py:build_transforms``, modal RGB). SwAV
#: (``src/multicropdataset.py``) normalises with std (0.228, 0.224, 0.225):
#: 0.228, not 0.229; its stem (``ConstantPad2d(1)`` + 7x7 conv, padding 2)
#: equals torchvision's 7x7 conv with padding 3. mmselfsup's ResNet configs
#: use the ImageNet values with ``bgr_to_rgb=True``; its checkpoint's
#: ``meta['cfg']`` is read when present.
PRETRAIN_CONVENTIONS = {
    'torchvision':
    ('torchvision ImageNet recipe', IMAGENET_MEAN, IMAGENET_STD),
    'pycontrast':
    ('PyContrast build_transforms (RGB)', IMAGENET_MEAN, IMAGENET_STD),
    'swav': ('SwAV MultiCropDataset', IMAGENET_MEAN,
             [0.228 * 255, 0.224 * 255, 0.225 * 255]),
    'mmselfsup': ('mmselfsup ResNet configs (bgr_to_rgb=True)', IMAGENET_MEAN,
                  IMAGENET_STD),
}


class CheckpointFormatError(ValueError):
    """A checkpoint does not have the layout it was expected to have."""


@dataclass
class SourceParts:
    """What a source checkpoint holds, split by role.

    Attributes:
        backbone (dict): Online (query) encoder, torchvision names.
        momentum_backbone (dict, optional): Momentum (EMA) encoder.
        head (dict, optional): Projection head of the online encoder, with
            the source's own sub-keys (e.g. ``0.weight`` or ``mlp.0.weight``).
        momentum_head (dict, optional): Projection head of the EMA encoder.
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
    queue: Optional[torch.Tensor] = None
    queue_ptr: int = 0
    names: Dict[str, str] = field(default_factory=dict)
    other: Dict[str, int] = field(default_factory=dict)
    unused_entries: List[str] = field(default_factory=list)
    source_tensors: int = 0
    epoch: Optional[int] = None
    pretrain_cfg: Optional[PretrainConventions] = None


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def load_source(filename: str) -> Any:
    """Read a checkpoint with ``weights_only=True``.

    ``argparse.Namespace`` (the ``opt``/``args`` entry of training scripts)
    is allowed on top of the mmengine types of
    :func:`~custom_modules.compat.checkpoint.safe_globals`.

    Args:
        filename (str): Path of the checkpoint.

    Returns:
        The loaded object, tensors on the CPU.

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeCheckpointError: The file pickles other Python objects; the
            message names the file and how to re-save its tensors.
    """
    if not osp.isfile(filename):
        raise FileNotFoundError(f'source checkpoint {filename} not found')
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return load_checkpoint_file(filename, map_location='cpu')
    except UnsafeCheckpointError as e:
        found = re.search(r'not loaded \((.*?)\)\. ', str(e))
        reason = found.group(1) if found else str(e).splitlines()[0]
        root, ext = osp.splitext(filename)
        copy = f'{root}.weights{ext or ".pth"}'
        raise UnsafeCheckpointError(
            f'{filename} pickles Python objects besides tensors ({reason}), '
            'so it is not read: the converter keeps weights_only=True. If '
            'you trust the file, re-save its weights once and convert that '
            'copy:\n  python -c "import torch; '
            f'c = torch.load({filename!r}, map_location=\'cpu\', '
            'weights_only=False); keep = (\'model\', \'model_ema\', '
            '\'contrast\', \'epoch\', \'state_dict\', \'meta\'); '
            'torch.save({k: v for k, v in c.items() if k in keep} if '
            'set(keep) & set(c) else c, '
            f'{copy!r})"') from e


def _strip_module(state: Mapping) -> Dict[str, Any]:
    """Remove a DDP ``module.`` prefix carried by every key."""
    if state and all(k.startswith('module.') for k in state):
        return OrderedDict((k[len('module.'):], v) for k, v in state.items())
    return OrderedDict(state)


def _show_keys(obj: Any, n: int = 6) -> str:
    if not isinstance(obj, Mapping):
        return f'a {type(obj).__name__}, not a dict'
    keys = list(obj)
    shown = ', '.join(repr(k) for k in keys[:n])
    more = f' ... ({len(keys)} keys)' if len(keys) > n else ''
    return f'keys {shown}{more}'


def _root(key: str) -> str:
    return key.split('.', 1)[0]


def detect_format(ckpt: Any, filename: str = '<checkpoint>') -> str:
    """Tell which of :data:`FORMATS` a loaded checkpoint has.

    Args:
        ckpt: What :func:`load_source` returned.
        filename (str): Named in the error message.

    Returns:
        str: One of :data:`FORMATS`.

    Raises:
        CheckpointFormatError: None of the layouts fits; the message shows
            the first keys found.
    """
    if isinstance(ckpt, Mapping):
        model = ckpt.get('model')
        if isinstance(model, Mapping) and any(
                k.startswith(('module.encoder.', 'encoder.')) for k in model):
            return 'pycontrast'
        state = ckpt.get('state_dict', ckpt)
        if isinstance(state, Mapping):
            if any(k.startswith('backbone.') for k in state):
                return 'mmselfsup'
            roots = {_root(k) for k in _strip_module(state)}
            if roots & {'prototypes', 'projection_head'}:
                return 'swav'
            if {'conv1', 'layer1'} <= roots:
                return 'torchvision'
    nested = ''
    if isinstance(ckpt, Mapping):
        for name in ('model', 'state_dict'):
            if isinstance(ckpt.get(name), Mapping):
                nested = f'; [{name!r}] has {_show_keys(ckpt[name])}'
    raise CheckpointFormatError(
        f'{filename}: unknown checkpoint layout: it has {_show_keys(ckpt)}'
        f'{nested}. Expected a PyContrast trainer file (model: '
        'module.encoder.*), a SwAV release (module.prototypes.weight), a '
        'torchvision ResNet state dict (conv1.weight, layer1.*) or an '
        'mmselfsup checkpoint (state_dict: backbone.*).')


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


def _take(state: Mapping, prefix: str) -> Dict[str, Any]:
    return OrderedDict(
        (k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))


def _split_trunk(state: Mapping) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Split a flat ResNet state dict into trunk keys and the rest."""
    trunk, rest = OrderedDict(), OrderedDict()
    for k, v in state.items():
        (trunk if _root(k) in RESNET_ROOTS else rest)[k] = v
    return trunk, rest


def _tensor_count(*states: Optional[Mapping]) -> int:
    return sum(
        sum(isinstance(v, torch.Tensor) for v in s.values()) for s in states
        if s)


def _split_pycontrast(ckpt: Mapping, filename: str) -> SourceParts:
    model = ckpt['model']
    root = 'module.' if any(k.startswith('module.encoder.')
                            for k in model) else ''
    used = (root + 'encoder.', root + 'head.')
    parts = SourceParts(
        backbone=_take(model, used[0]),
        head=_take(model, used[1]) or None,
        names=dict(
            backbone=f"model['{used[0]}*']", head=f"model['{used[1]}*']"),
        other=_count_groups((k for k in model if not k.startswith(used)),
                            'model'),
        epoch=ckpt.get('epoch')
        if isinstance(ckpt.get('epoch'), int) else None)
    ema = ckpt.get('model_ema')
    if isinstance(ema, Mapping):
        ema = _strip_module(ema)
        parts.momentum_backbone = _take(ema, 'encoder.') or None
        parts.momentum_head = _take(ema, 'head.') or None
        parts.names.update(
            momentum_backbone="model_ema['encoder.*']",
            momentum_head="model_ema['head.*']")
        parts.other.update(
            _count_groups(
                (k for k in ema if not k.startswith(('encoder.', 'head.'))),
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
    flat = _strip_module(state)
    trunk, rest = _split_trunk(flat)
    parts = SourceParts(
        backbone=trunk,
        names=dict(backbone=prefix + '{conv1,bn1,layer1-4}.*'),
        unused_entries=sorted(k for k in ckpt
                              if k != 'state_dict') if nested else [],
        source_tensors=_tensor_count(flat))
    if fmt == 'swav':
        parts.head = _take(rest, 'projection_head.') or None
        parts.names['head'] = prefix + 'projection_head.*'
        if parts.head:
            rest = OrderedDict((k, v) for k, v in rest.items()
                               if not k.startswith('projection_head.'))
        epoch = ckpt.get('epoch') if nested else None
        parts.epoch = epoch if isinstance(epoch, int) else None
    parts.other = _count_groups(prefix + k for k in rest)
    return parts


def _split_mmselfsup(ckpt: Mapping, filename: str) -> SourceParts:
    state = ckpt['state_dict']
    used = ('backbone.', 'neck.', MOCO_MOMENTUM_BACKBONE, MOCO_MOMENTUM_NECK,
            'queue', 'queue_ptr', 'encoder_k.steps')
    parts = SourceParts(
        backbone=_take(state, 'backbone.'),
        momentum_backbone=_take(state, MOCO_MOMENTUM_BACKBONE) or None,
        head=_take(state, 'neck.') or None,
        momentum_head=_take(state, MOCO_MOMENTUM_NECK) or None,
        names=dict(
            backbone='backbone.*',
            momentum_backbone=MOCO_MOMENTUM_BACKBONE + '*',
            head='neck.*',
            momentum_head=MOCO_MOMENTUM_NECK + '*',
            queue='queue'),
        other=_count_groups(
            k for k in state
            if not k.startswith(used[:4]) and k not in used[4:]),
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


def split_source(ckpt: Any,
                 fmt: str,
                 filename: str = '<checkpoint>') -> SourceParts:
    """Split a loaded checkpoint of format ``fmt`` into its parts.

    Args:
        ckpt: What :func:`load_source` returned.
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
            f'{filename}: expected a dict, found {_show_keys(ckpt)}')
    if fmt == 'pycontrast':
        if not isinstance(ckpt.get('model'), Mapping):
            raise CheckpointFormatError(
                f'{filename}: a PyContrast trainer file has a "model" '
                f'entry; this one has {_show_keys(ckpt)}')
        parts = _split_pycontrast(ckpt, filename)
    elif fmt == 'mmselfsup':
        if not isinstance(ckpt.get('state_dict'), Mapping):
            raise CheckpointFormatError(
                f'{filename}: an mmselfsup checkpoint has a "state_dict" '
                f'entry; this one has {_show_keys(ckpt)}')
        parts = _split_mmselfsup(ckpt, filename)
    else:
        parts = _split_flat(ckpt, fmt)
    if not parts.backbone:
        raise CheckpointFormatError(
            f'{filename}: no ResNet weights found where the {fmt} format '
            f'keeps them ({parts.names.get("backbone")}); the file has '
            f'{_show_keys(ckpt)}')
    return parts


def to_resnet_state_dict(
        ckpt: Any,
        fmt: str,
        encoder: str = 'online',
        filename: str = '<checkpoint>') -> 'OrderedDict[str, torch.Tensor]':
    """The ResNet trunk of a checkpoint in torchvision/mmdet names.

    Args:
        ckpt: What :func:`load_source` returned.
        fmt (str): One of :data:`FORMATS`.
        encoder (str): ``'online'`` (query encoder) or ``'momentum'`` (EMA
            encoder of PyContrast/mmselfsup MoCo). Defaults to 'online'.
        filename (str): Named in error messages.

    Returns:
        OrderedDict: ``conv1.weight`` ... ``layer4.*``, not yet verified
        (see :func:`verify_resnet_state_dict`).
    """
    parts = split_source(ckpt, fmt, filename)
    return _pick_encoder(parts, encoder, fmt, filename)


def _pick_encoder(parts: SourceParts, encoder: str, fmt: str,
                  filename: str) -> Dict[str, torch.Tensor]:
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


# --------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------


def expected_resnet_keys(depth: int) -> 'OrderedDict[str, Tuple[int, ...]]':
    """Keys and shapes of an mmdet/mmcls/torchvision ResNet trunk.

    Args:
        depth (int): 18, 34, 50, 101 or 152.

    Returns:
        OrderedDict: key -> shape, in module order, without ``fc``.
    """
    if depth not in RESNET_ARCH:
        raise ValueError(f'unsupported ResNet depth {depth}; use one of '
                         f'{sorted(RESNET_ARCH)}')
    block, stages = RESNET_ARCH[depth]
    expansion = 4 if block == 'bottleneck' else 1
    keys: 'OrderedDict[str, Tuple[int, ...]]' = OrderedDict()

    def conv(name, cout, cin, k):
        keys[f'{name}.weight'] = (cout, cin, k, k)

    def norm(name, c):
        for p in ('weight', 'bias', 'running_mean', 'running_var'):
            keys[f'{name}.{p}'] = (c, )
        keys[f'{name}.num_batches_tracked'] = ()

    conv('conv1', 64, 3, 7)
    norm('bn1', 64)
    inplanes = 64
    for i, num_blocks in enumerate(stages):
        planes = 64 * 2**i
        for j in range(num_blocks):
            p = f'layer{i + 1}.{j}'
            if block == 'bottleneck':
                conv(f'{p}.conv1', planes, inplanes, 1)
                norm(f'{p}.bn1', planes)
                conv(f'{p}.conv2', planes, planes, 3)
                norm(f'{p}.bn2', planes)
                conv(f'{p}.conv3', planes * expansion, planes, 1)
                norm(f'{p}.bn3', planes * expansion)
            else:
                conv(f'{p}.conv1', planes, inplanes, 3)
                norm(f'{p}.bn1', planes)
                conv(f'{p}.conv2', planes, planes, 3)
                norm(f'{p}.bn2', planes)
            if j == 0 and (i > 0 or inplanes != planes * expansion):
                conv(f'{p}.downsample.0', planes * expansion, inplanes, 1)
                norm(f'{p}.downsample.1', planes * expansion)
            inplanes = planes * expansion
    return keys


def detect_depth(state: Mapping, filename: str = '<checkpoint>') -> int:
    """ResNet depth from the block counts of a torchvision-named trunk.

    Raises:
        CheckpointFormatError: The blocks match none of
            :data:`RESNET_ARCH`.
    """
    counts = []
    for i in range(1, 5):
        blocks = {
            int(m.group(1))
            for m in (re.match(rf'layer{i}\.(\d+)\.', k) for k in state) if m
        }
        counts.append(max(blocks) + 1 if blocks else 0)
    block = 'bottleneck' if 'layer1.0.conv3.weight' in state else 'basic'
    for depth, arch in RESNET_ARCH.items():
        if arch == (block, tuple(counts)):
            return depth
    raise CheckpointFormatError(
        f'{filename}: the backbone is not a ResNet-18/34/50/101/152: '
        f'{block} blocks per stage {tuple(counts)}, '
        f'{_show_keys(state)}')


def _shape(v: Any) -> Tuple[int, ...]:
    return tuple(v.shape) if isinstance(v, torch.Tensor) else ()


def verify_resnet_state_dict(state: Mapping,
                             filename: str = '<checkpoint>',
                             what: str = 'backbone') -> int:
    """Check a trunk against the ResNet of its depth, key for key.

    Every weight, bias and running statistic must be present with the
    expected shape, and nothing else may be there; only
    ``num_batches_tracked`` counters may be missing (checkpoints from
    before torch 0.4.1 lack them; :func:`complete_bn_counters` adds them).

    Args:
        state (Mapping): Trunk in torchvision names (no prefix).
        filename (str): Named in error messages.
        what (str): Which encoder this is, for error messages.

    Returns:
        int: The detected depth.

    Raises:
        CheckpointFormatError: Missing, unexpected or mis-shaped tensors;
            the message lists the first few of each.
    """
    depth = detect_depth(state, filename)
    expected = expected_resnet_keys(depth)
    missing = [
        k for k in expected
        if k not in state and not k.endswith('num_batches_tracked')
    ]
    unexpected = [k for k in state if k not in expected]
    wrong = [(k, _shape(state[k]), expected[k]) for k in expected
             if k in state and _shape(state[k]) != expected[k]]
    problems = []
    if missing:
        problems.append(f'{len(missing)} weights missing '
                        f'({", ".join(missing[:5])})')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected keys '
                        f'({", ".join(unexpected[:5])})')
    if wrong:
        shown = ', '.join(f'{k}: {s} vs {e}' for k, s, e in wrong[:5])
        problems.append(f'{len(wrong)} shapes differ from ResNet-{depth} '
                        f'(checkpoint vs expected: {shown})')
    if problems:
        raise CheckpointFormatError(
            f'{filename}: the {what} does not match an mmdet ResNet-{depth}:'
            f' {"; ".join(problems)}. Wide or grouped variants (ResNeXt, '
            'ResNet-50w2) and deep stems need a different backbone type.')
    return depth


def complete_bn_counters(
        state: Mapping,
        depth: int) -> Tuple['OrderedDict[str, torch.Tensor]', int]:
    """Order a verified trunk like the model and add missing BN counters.

    Returns:
        tuple: (state dict in module order, number of counters added).
    """
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    added = 0
    for k in expected_resnet_keys(depth):
        if k in state:
            out[k] = state[k]
        else:
            out[k] = torch.tensor(0, dtype=torch.long)
            added += 1
    return out, added


def mocov2_neck(head: Optional[Mapping],
                in_channels: int) -> Tuple[Optional[Dict], str]:
    """Map a projection head onto mmselfsup's ``MoCoV2Neck`` (fc-relu-fc).

    PyContrast's ``mlp`` head (``0``: Linear, ``1``: ReLU, ``2``: Linear,
    ``3``: Normalize) and mmselfsup's ``neck.mlp`` have this structure;
    SwAV's (Linear-BN-ReLU-Linear) and linear heads do not.

    Args:
        head (Mapping, optional): Head keys without the head's prefix.
        in_channels (int): Channels the backbone gives the neck.

    Returns:
        tuple: (``{'mlp.0.weight', 'mlp.0.bias', 'mlp.2.weight',
        'mlp.2.bias'}`` or None, a note saying why/which dims).
    """
    if not head:
        return None, 'the source has no projection head'
    head = OrderedDict(head)
    if all(k.startswith('mlp.') for k in head):
        head = _take(head, 'mlp.')
    names = ('0.weight', '0.bias', '2.weight', '2.bias')
    if set(head) != set(names):
        return None, ('its projection head is not fc-relu-fc '
                      f'({", ".join(list(head)[:4])}...)')
    w0, b0, w2, b2 = (head[k] for k in names)
    if not (w0.dim() == 2 and w2.dim() == 2 and w0.shape[1] == in_channels
            and b0.shape == (w0.shape[0], ) and w2.shape[1] == w0.shape[0]
            and b2.shape == (w2.shape[0], )):
        return None, (f'its head shapes {tuple(w0.shape)}/{tuple(w2.shape)} '
                      f'do not chain from {in_channels} channels')
    neck = OrderedDict(('mlp.' + k, head[k]) for k in names)
    return neck, (f'MoCoV2Neck in_channels={w0.shape[1]}, '
                  f'hid_channels={w0.shape[0]}, out_channels={w2.shape[0]}')


# --------------------------------------------------------------------------
# Metadata
# --------------------------------------------------------------------------


def pretrain_conventions(fmt: str, depth: int,
                         found: Optional[PretrainConventions] = None
                         ) -> PretrainConventions:
    """How the converted backbone saw its inputs (``meta['pretrain_cfg']``).

    The format's convention (:data:`PRETRAIN_CONVENTIONS`: RGB input, its
    mean and std) unless the source recorded its own data preprocessor
    (``found``, read as data from an mmselfsup checkpoint's ``meta['cfg']``).
    The trunk is a verified torchvision-layout ResNet: BN, a 7x7 stem and
    the stride in the 3x3 conv (``'pytorch'`` style).

    Args:
        fmt (str): Source format.
        depth (int): Verified ResNet depth.
        found (PretrainConventions, optional): Read from the source.

    Returns:
        PretrainConventions: The record written into the output's meta.
    """
    basis, mean, std = PRETRAIN_CONVENTIONS[fmt]
    record = dict(
        mean=tuple(round(float(x), 4) for x in mean),
        std=tuple(round(float(x), 4) for x in std),
        bgr_to_rgb=True,
        basis=basis)
    if found is not None and found.mean and found.std:
        record.update(
            mean=found.mean,
            std=found.std,
            bgr_to_rgb=bool(found.bgr_to_rgb),
            basis="data_preprocessor in the source's meta['cfg']")
    return PretrainConventions(
        depth=depth, norm='BN', stem='7x7', style='pytorch', **record)


def _sha256(filename: str) -> str:
    digest = hashlib.sha256()
    with open(filename, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def build_mmdet_checkpoint(backbone: Mapping, meta: dict) -> dict:
    """An mmengine checkpoint holding only ``backbone.*``.

    Args:
        backbone (Mapping): Verified trunk in torchvision names.
        meta (dict): Goes to ``checkpoint['meta']``.

    Returns:
        dict: ``{'meta': meta, 'state_dict': {'backbone.*': tensor}}``.
    """
    state = OrderedDict(('backbone.' + k, v) for k, v in backbone.items())
    return dict(meta=dict(meta), state_dict=state)


def build_moco_checkpoint(backbone: Mapping,
                          meta: dict,
                          neck: Optional[Mapping] = None,
                          momentum_backbone: Optional[Mapping] = None,
                          momentum_neck: Optional[Mapping] = None,
                          queue: Optional[torch.Tensor] = None,
                          queue_ptr: int = 0) -> dict:
    """A checkpoint for mmselfsup 1.0's ``MoCo`` (``load_from``).

    ``MoCo.encoder_k`` is an ``ExponentialMovingAverage`` whose first update
    (``steps == 0``) copies the online encoder and later ones blend. A
    source momentum encoder (with its neck) is therefore written with
    ``encoder_k.steps=1`` so that it survives the first iteration. Without
    one, the momentum encoder is written as the online encoder with
    ``steps=0``; a neck that is not given is left to the model's init and
    copied into the momentum encoder at the first step, as in a fresh MoCo
    run.

    Args:
        backbone (Mapping): Online trunk, torchvision names.
        meta (dict): Goes to ``checkpoint['meta']``.
        neck (Mapping, optional): ``mlp.*`` of a ``MoCoV2Neck``.
        momentum_backbone (Mapping, optional): EMA trunk; needs
            ``momentum_neck`` when ``neck`` is given.
        momentum_neck (Mapping, optional): EMA ``mlp.*``.
        queue (Tensor, optional): ``(dim, K)`` normalized keys; needs
            ``neck``.
        queue_ptr (int): Queue pointer. Defaults to 0.

    Returns:
        dict: ``{'meta': meta, 'state_dict': ...}``.
    """
    if momentum_backbone is not None and (neck is None
                                          or momentum_neck is None):
        raise ValueError('a momentum encoder is kept only together with '
                         'both necks: a fresh online neck would not match '
                         'it, so copy the online encoder instead (leave '
                         'momentum_backbone out)')
    if queue is not None and neck is None:
        raise ValueError('a queue is only meaningful with the neck that '
                         'produced its keys')
    if momentum_backbone is None:
        momentum_backbone, momentum_neck, steps = backbone, neck, 0
    else:
        steps = 1
    state: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    if queue is not None:
        state['queue'] = queue
        state['queue_ptr'] = torch.tensor([queue_ptr], dtype=torch.long)
    state.update(('backbone.' + k, v) for k, v in backbone.items())
    if neck is not None:
        state.update(('neck.' + k, v) for k, v in neck.items())
    state['encoder_k.steps'] = torch.tensor(steps, dtype=torch.long)
    state.update(
        (MOCO_MOMENTUM_BACKBONE + k, v) for k, v in momentum_backbone.items())
    if momentum_neck is not None:
        state.update(
            (MOCO_MOMENTUM_NECK + k, v) for k, v in momentum_neck.items())
    return dict(meta=dict(meta), state_dict=state)


def atomic_save(obj: Any, dst: str) -> None:
    """``torch.save`` to a temporary file beside ``dst``, then rename."""
    folder = osp.dirname(osp.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(dst)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
        os.replace(tmp, dst)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


# --------------------------------------------------------------------------
# The whole conversion
# --------------------------------------------------------------------------


class _Report:
    """Book-keeping of :func:`convert`: what was used, dropped, added."""

    def __init__(self, parts: SourceParts, src: str) -> None:
        self.parts = parts
        self.src = src
        self.dropped: Dict[str, int] = OrderedDict(parts.other)
        self.mapped: Dict[str, int] = OrderedDict()
        self.added = 0
        self.notes: Dict[str, str] = {}

    def use(self, name: str, state: Mapping,
            encoder: str) -> Tuple[Dict[str, torch.Tensor], int]:
        """Verify a trunk, complete its BN counters, count it."""
        depth = verify_resnet_state_dict(state, self.src,
                                         self.parts.names.get(name, name))
        full, added = complete_bn_counters(state, depth)
        self.added += added
        self.mapped[encoder] = len(state)
        return full, depth

    def drop(self, name: str, value: Any) -> None:
        """Record a part of the source that the output leaves out."""
        if isinstance(value, torch.Tensor):
            self.dropped[self.parts.names.get(name, name)] = 1
        elif value:
            self.dropped[self.parts.names.get(name, name)] = len(value)


def _moco_checkpoint(parts: SourceParts,
                     backbone: Dict[str, torch.Tensor],
                     depth: int,
                     report: _Report,
                     keep_queue: bool = False) -> dict:
    """Choose neck, momentum encoder and queue for the MoCo target.

    The source's queue is dropped unless ``keep_queue``: ``load_from`` loads
    buffers too, and further training on new data (the domain-adaptation
    report) must start from a fresh queue, not from the old data's keys.
    """
    block = RESNET_ARCH[depth][0]
    out_channels = 512 * (4 if block == 'bottleneck' else 1)
    neck, note = mocov2_neck(parts.head, out_channels)
    ema_neck, _ = mocov2_neck(parts.momentum_head, out_channels)
    if neck is None:
        report.drop('head', parts.head)
        report.notes['neck'] = f'left to init: {note}'
    else:
        report.notes['neck'] = f'mapped: {note}'

    ema = None
    if parts.momentum_backbone and neck is not None and ema_neck is not None:
        ema, depth_k = report.use('momentum_backbone', parts.momentum_backbone,
                                  'momentum')
        if depth_k != depth:
            raise CheckpointFormatError(
                f'{report.src}: the online encoder is ResNet-{depth} but the '
                f'momentum encoder ResNet-{depth_k}')
        report.notes['momentum'] = (
            f'from {parts.names["momentum_backbone"]} (encoder_k.steps=1)')
    else:
        report.drop('momentum_backbone', parts.momentum_backbone)
        report.drop('momentum_head', parts.momentum_head)
        report.notes['momentum'] = (
            'copy of the online encoder (encoder_k.steps=0: mmselfsup '
            'copies it again at the first iteration)')
        if parts.momentum_backbone:
            report.notes['momentum'] += ('; the source momentum encoder is '
                                         'dropped: its neck cannot be mapped')

    queue = parts.queue
    if queue is None:
        report.notes['queue'] = 'left to init (the source has none)'
    elif not keep_queue:
        report.drop('queue', queue)
        queue = None
        report.notes['queue'] = ('left to init: a fresh queue '
                                 '(--keep-queue keeps the source\'s)')
    elif neck is None or queue.shape[0] != neck['mlp.2.weight'].shape[0]:
        report.drop('queue', queue)
        queue = None
        report.notes['queue'] = 'left to init (no matching neck)'
    else:
        report.notes['queue'] = (f'from {parts.names["queue"]}: feat_dim='
                                 f'{queue.shape[0]}, queue_len='
                                 f'{queue.shape[1]}')
    return build_moco_checkpoint(
        backbone,
        meta={},
        neck=neck,
        momentum_backbone=ema,
        momentum_neck=ema_neck if ema is not None else None,
        queue=queue,
        queue_ptr=parts.queue_ptr)


def convert(src: str,
            dst: str,
            src_format: Optional[str] = None,
            target: str = 'mmdet',
            force: bool = False,
            encoder: str = 'online',
            keep_queue: bool = False) -> dict:
    """Convert a released/trained ResNet checkpoint for mmdet or mmselfsup.

    Args:
        src (str): Source checkpoint.
        dst (str): Output path; written atomically.
        src_format (str, optional): One of :data:`FORMATS`; detected when
            None, and checked against the detection when given.
        target (str): ``'mmdet'`` (``backbone.*`` only) or
            ``'mmselfsup-moco'`` (both MoCo encoders). Defaults to 'mmdet'.
        force (bool): Overwrite ``dst``. Defaults to False.
        encoder (str): For ``mmdet``, take the ``'online'`` or the
            ``'momentum'`` encoder. Defaults to 'online'.
        keep_queue (bool): For ``mmselfsup-moco``, keep the source's
            negative-key queue instead of starting a fresh one. Defaults to
            False.

    Returns:
        dict: Summary: ``src``, ``dst``, ``src_format``, ``target``,
        ``depth``, ``encoder``, ``source_tensors``, ``mapped`` (trunk
        tensors taken from the source, per encoder), ``bn_counters_added``,
        ``written`` (tensors in ``dst``), ``dropped`` (source key group ->
        count), ``unused_entries``, ``neck``, ``momentum``, ``queue``,
        ``meta``.

    Raises:
        FileExistsError: ``dst`` exists and ``force`` is False.
        CheckpointFormatError: Unknown layout, format mismatch, missing or
            mis-shaped weights.
        UnsafeCheckpointError: ``src`` pickles non-tensor objects.
    """
    if target not in TARGETS:
        raise ValueError(f'unknown target {target!r}; use one of '
                         f'{", ".join(TARGETS)}')
    if encoder not in ENCODERS:
        raise ValueError(f'encoder must be one of {ENCODERS}')
    if target == 'mmselfsup-moco' and encoder != 'online':
        raise ValueError('--encoder momentum applies to --target mmdet; the '
                         'MoCo target keeps both encoders')
    if osp.exists(dst):
        if osp.exists(src) and osp.samefile(src, dst):
            raise FileExistsError(f'{dst} is the source file; write the '
                                  'conversion elsewhere')
        if not force:
            raise FileExistsError(
                f'{dst} already exists; pass --force (force=True) to '
                'overwrite it')

    ckpt = load_source(src)
    detected = detect_format(ckpt, src)
    if src_format is not None and src_format != detected:
        raise CheckpointFormatError(
            f'{src} was given as --src-format {src_format} but has the '
            f'{detected} layout; pass --src-format {detected} (or leave it '
            'out to detect it)')
    fmt = detected
    parts = split_source(ckpt, fmt, src)
    report = _Report(parts, src)

    online = _pick_encoder(parts, encoder, fmt, src)
    backbone, depth = report.use(
        'backbone' if encoder == 'online' else 'momentum_backbone', online,
        encoder)
    if target == 'mmdet':
        report.drop('head', parts.head)
        report.drop('momentum_head', parts.momentum_head)
        if encoder == 'online':
            report.drop('momentum_backbone', parts.momentum_backbone)
        else:
            report.drop('backbone', parts.backbone)
        report.drop('queue', parts.queue)
    else:
        out_ckpt = _moco_checkpoint(parts, backbone, depth, report,
                                    keep_queue)

    meta = dict(
        converter='tools/model_converters/convert.py',
        src_format=fmt,
        src_file=osp.basename(src),
        src_sha256=_sha256(src),
        src_epoch=parts.epoch,
        target=target,
        encoder=encoder,
        arch=dict(type='ResNet', depth=depth),
        pretrain_cfg=pretrain_conventions(fmt, depth,
                                          parts.pretrain_cfg).to_dict())
    if target == 'mmdet':
        out_ckpt = build_mmdet_checkpoint(backbone, meta)
    else:
        out_ckpt['meta'] = meta
    atomic_save(out_ckpt, dst)
    return dict(
        src=src,
        dst=dst,
        src_format=fmt,
        target=target,
        depth=depth,
        encoder=encoder,
        source_tensors=parts.source_tensors,
        mapped=report.mapped,
        bn_counters_added=report.added,
        written=len(out_ckpt['state_dict']),
        dropped=dict(report.dropped),
        unused_entries=list(parts.unused_entries),
        neck=report.notes.get('neck'),
        momentum=report.notes.get('momentum'),
        queue=report.notes.get('queue'),
        meta=meta)
