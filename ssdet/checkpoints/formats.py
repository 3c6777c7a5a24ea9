"""The checkpoint layouts: what each source and target looks like, reading a
source file safely, and telling its layout from its keys.

Sources (:data:`FORMATS`):

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

Targets (:data:`TARGETS`):

* ``mmdet``: ``{'meta': {...}, 'state_dict': {'backbone.*'}}``; load it with
  ``init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=...)``.
* ``mmselfsup-moco``: the state dict of mmselfsup 1.0's ``MoCo`` (query
  encoder ``backbone.*``/``neck.mlp.*``, momentum encoder
  ``encoder_k.module.0.*``/``encoder_k.module.1.mlp.*``, ``queue``,
  ``queue_ptr``, ``encoder_k.steps``), for ``load_from``.
* ``mmselfsup-jigsaw-moco``: the same plus the jigsaw neck ``jigsaw_neck.*``
  of :class:`custom_modules.models.InfoMinJigsawMoCo` (PyContrast's
  ``head_jig``), for ``load_from``.

Files are read with ``weights_only=True`` through
:func:`custom_modules.compat.checkpoint.load_checkpoint_file`; the only type
added to its allow-list here is ``argparse.Namespace`` (training scripts pickle
their options), which holds plain values and runs no code.

This module imports neither torch nor ``custom_modules`` at import time, so
a command line can offer its names (``--src-format``, ``--target``) cheaply.
"""
import argparse
import os.path as osp
import re
from collections import OrderedDict
from typing import Any, Dict, Mapping

#: Source layouts (``--src-format``).
FORMATS = ('pycontrast', 'swav', 'torchvision', 'mmselfsup')
#: Output layouts (``--target``).
TARGETS = ('mmdet', 'mmselfsup-moco', 'mmselfsup-jigsaw-moco')
#: Which encoder of a MoCo-style source becomes the backbone (``--encoder``).
ENCODERS = ('online', 'momentum')

#: Momentum-encoder prefixes of mmselfsup 1.0's ``MoCo``: its ``encoder_k``
#: is ``ExponentialMovingAverage(nn.Sequential(backbone, neck))``.
MOCO_MOMENTUM_BACKBONE = 'encoder_k.module.0.'
MOCO_MOMENTUM_NECK = 'encoder_k.module.1.'


class CheckpointFormatError(ValueError):
    """A checkpoint does not have the layout it was expected to have."""


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
    import torch

    from custom_modules.compat.checkpoint import (UnsafeCheckpointError,
                                                  load_checkpoint_file)
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


def strip_module(state: Mapping) -> Dict[str, Any]:
    """Remove a DDP ``module.`` prefix carried by every key."""
    if state and all(k.startswith('module.') for k in state):
        return OrderedDict((k[len('module.'):], v) for k, v in state.items())
    return OrderedDict(state)


def describe_keys(obj: Any, n: int = 6) -> str:
    """The first ``n`` keys of a dict (or what it is instead), for errors."""
    if not isinstance(obj, Mapping):
        return f'a {type(obj).__name__}, not a dict'
    keys = list(obj)
    shown = ', '.join(repr(k) for k in keys[:n])
    more = f' ... ({len(keys)} keys)' if len(keys) > n else ''
    return f'keys {shown}{more}'


def key_root(key: str) -> str:
    """The first dotted part of a key: ``'layer1.0.conv1.weight'`` ->
    ``'layer1'``."""
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
            roots = {key_root(k) for k in strip_module(state)}
            if roots & {'prototypes', 'projection_head'}:
                return 'swav'
            if {'conv1', 'layer1'} <= roots:
                return 'torchvision'
    nested = ''
    if isinstance(ckpt, Mapping):
        for name in ('model', 'state_dict'):
            if isinstance(ckpt.get(name), Mapping):
                nested = f'; [{name!r}] has {describe_keys(ckpt[name])}'
    raise CheckpointFormatError(
        f'{filename}: unknown checkpoint layout: it has {describe_keys(ckpt)}'
        f'{nested}. Expected a PyContrast trainer file (model: '
        'module.encoder.*), a SwAV release (module.prototypes.weight), a '
        'torchvision ResNet state dict (conv1.weight, layer1.*) or an '
        'mmselfsup checkpoint (state_dict: backbone.*).')
