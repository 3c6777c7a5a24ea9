"""What a converted checkpoint records about itself in ``meta``: its
source (file, hash, format, epoch), the target and the pretraining
conventions of the backbone (a
:class:`custom_modules.conventions.PretrainConventions` record, which
``TransferCheckHook`` compares with the fine-tuning config).
"""
import hashlib
import os.path as osp
from typing import Optional

from custom_modules.conventions import PretrainConventions
from .sources import SourceParts

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


def file_sha256(filename: str) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(filename, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def conversion_meta(src: str, fmt: str, parts: SourceParts, target: str,
                    encoder: str, depth: int) -> dict:
    """``checkpoint['meta']`` of a converted checkpoint.

    Args:
        src (str): The source file.
        fmt (str): Its format.
        parts (SourceParts): What it holds.
        target (str): The target format.
        encoder (str): Which encoder became the backbone.
        depth (int): Verified ResNet depth.

    Returns:
        dict: ``converter``, ``src_format``, ``src_file``, ``src_sha256``,
        ``src_epoch``, ``target``, ``encoder``, ``arch`` and
        ``pretrain_cfg`` (:func:`pretrain_conventions` as a dict).
    """
    return dict(
        converter='tools/model_converters/convert.py',
        src_format=fmt,
        src_file=osp.basename(src),
        src_sha256=file_sha256(src),
        src_epoch=parts.epoch,
        target=target,
        encoder=encoder,
        arch=dict(type='ResNet', depth=depth),
        pretrain_cfg=pretrain_conventions(fmt, depth,
                                          parts.pretrain_cfg).to_dict())
