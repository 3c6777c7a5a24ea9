"""ResNet trunk verification: the keys and shapes of an mmdet/mmcls/
torchvision ResNet, the depth of a trunk, and a key-for-key check.

All source layouts name the ResNet like torchvision, which is also how mmdet
and mmcls name theirs (``conv1``, ``bn1``, ``layer1.0.conv1``,
``downsample.0/1``), so a trunk moves between them by a prefix change; what
needs care is that all of its tensors are there with the right shapes.
"""
import re
from collections import OrderedDict
from typing import Any, Mapping, Tuple

import torch

from .formats import CheckpointFormatError, describe_keys

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
        f'{describe_keys(state)}')


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
