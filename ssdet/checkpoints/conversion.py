"""Writing the targets, and the whole conversion (:func:`convert`): read,
detect, split, verify, map the heads, write atomically, report.

``tools/model_converters/convert.py`` is its command line.
"""
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, Mapping, Optional, Tuple

import torch

from ..io import atomic_torch_save, refuse_overwrite
from .formats import (ENCODERS, MOCO_MOMENTUM_BACKBONE, MOCO_MOMENTUM_NECK,
                      TARGETS, CheckpointFormatError, detect_format,
                      load_source)
from .metadata import conversion_meta
from .resnet import RESNET_ARCH, complete_bn_counters, verify_resnet_state_dict
from .sources import SourceParts, pick_encoder, split_source, take_prefix


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
        head = take_prefix(head, 'mlp.')
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


def jigsaw_neck(head: Optional[Mapping], in_channels: int,
                out_channels: Optional[int]) -> Tuple[Optional[Dict], str]:
    """Map a jigsaw head onto ``JigsawNeck`` (per-patch fc-relu-fc, then one
    linear layer over the concatenated patches).

    PyContrast's ``head_jig`` (``JigsawHead`` with ``head='mlp'``: ``fc1``
    = Linear-ReLU-Linear, ``fc2`` = Linear(k x C, C)) and our
    ``jigsaw_neck`` (``mlp``, ``fc``) have this structure; the ``'linear'``
    variant (``fc1.weight``) does not.

    Args:
        head (Mapping, optional): Head keys without the head's prefix.
        in_channels (int): Channels the backbone gives the neck.
        out_channels (int, optional): Embedding size of the instance neck,
            which the jigsaw embedding must match; None when it is not
            mapped.

    Returns:
        tuple: (``{'mlp.0.weight', ..., 'fc.bias'}`` or None, a note saying
        why/which dims).
    """
    if not head:
        return None, 'the source has no jigsaw head'
    found = ', '.join(list(head)[:3])
    for old, new in (('fc1.', 'mlp.'), ('fc2.', 'fc.')):  # PyContrast's
        head = OrderedDict((new + k[len(old):] if k.startswith(old) else k, v)
                           for k, v in head.items())
    mlp, _ = mocov2_neck(take_prefix(head, 'mlp.'), in_channels)
    fc_w, fc_b = head.get('fc.weight'), head.get('fc.bias')
    if mlp is None or set(head) != set(mlp) | {'fc.weight', 'fc.bias'}:
        return None, ('its jigsaw head is not a per-patch fc-relu-fc and '
                      f'one fc ({found}...)')
    dim = mlp['mlp.2.weight'].shape[0]
    if not (fc_w.dim() == 2 and fc_w.shape[0] == dim
            and fc_w.shape[1] % dim == 0 and fc_b.shape == (dim, )):
        return None, (f'its combining layer {tuple(fc_w.shape)} does not '
                      f'take whole {dim}-d patch embeddings')
    if out_channels is not None and dim != out_channels:
        return None, (f'its {dim}-d embedding does not match the '
                      f'{out_channels}-d keys')
    neck = OrderedDict(mlp)
    neck.update(('fc.' + k, head['fc.' + k]) for k in ('weight', 'bias'))
    return neck, (f'JigsawNeck in_channels={in_channels}, hid_channels='
                  f'{mlp["mlp.0.weight"].shape[0]}, out_channels={dim}, '
                  f'num_patches={fc_w.shape[1] // dim}')


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
                          queue_ptr: int = 0,
                          jigsaw: Optional[Mapping] = None) -> dict:
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
        jigsaw (Mapping, optional): ``JigsawNeck`` weights (``mlp.*``,
            ``fc.*``), written as ``jigsaw_neck.*`` for
            ``InfoMinJigsawMoCo``.

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
    if jigsaw is not None:
        state.update(('jigsaw_neck.' + k, v) for k, v in jigsaw.items())
    state['encoder_k.steps'] = torch.tensor(steps, dtype=torch.long)
    state.update(
        (MOCO_MOMENTUM_BACKBONE + k, v) for k, v in momentum_backbone.items())
    if momentum_neck is not None:
        state.update(
            (MOCO_MOMENTUM_NECK + k, v) for k, v in momentum_neck.items())
    return dict(meta=dict(meta), state_dict=state)


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
                     meta: dict,
                     keep_queue: bool = False,
                     with_jigsaw: bool = False) -> dict:
    """Choose neck, momentum encoder, queue (and jigsaw neck) for the MoCo
    targets.

    The source's queue is dropped unless ``keep_queue``: ``load_from`` loads
    buffers too, and further training on new data (the domain-adaptation
    report) must start from a fresh queue, not from the old data's keys.
    PyContrast's one memory serves both of its branches, so it is the queue
    of both targets. A momentum copy of the jigsaw head is always dropped:
    PyContrast averages it but never applies it (its momentum encoder
    computes the instance key only).
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

    jigsaw = None
    if with_jigsaw:
        dim = None if neck is None else neck['mlp.2.weight'].shape[0]
        jigsaw, note = jigsaw_neck(parts.jigsaw_head, out_channels, dim)
        if jigsaw is None:
            report.notes['jigsaw'] = f'left to init: {note}'
        else:
            report.notes['jigsaw'] = (
                f'mapped from {parts.names["jigsaw_head"]}: {note}')
        if parts.momentum_jigsaw_head:
            report.notes['jigsaw'] += (
                f'; {parts.names["momentum_jigsaw_head"]} dropped (never '
                'applied by PyContrast\'s momentum encoder)')
    if jigsaw is None:
        report.drop('jigsaw_head', parts.jigsaw_head)
    report.drop('momentum_jigsaw_head', parts.momentum_jigsaw_head)

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
        meta=meta,
        neck=neck,
        momentum_backbone=ema,
        momentum_neck=ema_neck if ema is not None else None,
        queue=queue,
        queue_ptr=parts.queue_ptr,
        jigsaw=jigsaw)


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
        target (str): ``'mmdet'`` (``backbone.*`` only),
            ``'mmselfsup-moco'`` (both MoCo encoders) or
            ``'mmselfsup-jigsaw-moco'`` (both encoders and the jigsaw neck
            of ``InfoMinJigsawMoCo``). Defaults to 'mmdet'.
        force (bool): Overwrite ``dst``. Defaults to False.
        encoder (str): For ``mmdet``, take the ``'online'`` or the
            ``'momentum'`` encoder. Defaults to 'online'.
        keep_queue (bool): For the MoCo targets, keep the source's
            negative-key queue instead of starting a fresh one. Defaults to
            False.

    Returns:
        dict: Summary: ``src``, ``dst``, ``src_format``, ``target``,
        ``depth``, ``encoder``, ``source_tensors``, ``mapped`` (trunk
        tensors taken from the source, per encoder), ``bn_counters_added``,
        ``written`` (tensors in ``dst``), ``dropped`` (source key group ->
        count), ``unused_entries``, ``neck``, ``momentum``, ``queue``,
        ``jigsaw`` (None unless the target has a jigsaw neck), ``meta``.

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
    if target != 'mmdet' and encoder != 'online':
        raise ValueError('--encoder momentum applies to --target mmdet; the '
                         'MoCo target keeps both encoders')
    if osp.exists(dst) and osp.exists(src) and osp.samefile(src, dst):
        raise FileExistsError(f'{dst} is the source file; write the '
                              'conversion elsewhere')
    refuse_overwrite([dst], force)

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

    chosen = 'backbone' if encoder == 'online' else 'momentum_backbone'
    backbone, depth = report.use(chosen,
                                 pick_encoder(parts, encoder, fmt, src),
                                 encoder)
    meta = conversion_meta(src, fmt, parts, target, encoder, depth)
    if target == 'mmdet':
        other = 'momentum_backbone' if encoder == 'online' else 'backbone'
        for name in ('head', 'momentum_head', other, 'queue', 'jigsaw_head',
                     'momentum_jigsaw_head'):
            report.drop(name, getattr(parts, name))
        out_ckpt = build_mmdet_checkpoint(backbone, meta)
    else:
        out_ckpt = _moco_checkpoint(parts, backbone, depth, report, meta,
                                    keep_queue,
                                    target == 'mmselfsup-jigsaw-moco')
    atomic_torch_save(out_ckpt, dst)
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
        jigsaw=report.notes.get('jigsaw'),
        meta=meta)
