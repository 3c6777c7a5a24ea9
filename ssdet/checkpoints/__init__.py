"""Released ResNet checkpoints (PyContrast, SwAV, torchvision, mmselfsup)
converted for MMDetection and mmselfsup, one concern a module:

- :mod:`.formats`: the source and target layouts, safe reading, detection;
- :mod:`.sources`: a source split by role (encoders, heads, queue, rest);
- :mod:`.resnet`: the keys and shapes of a ResNet trunk, checked one by one;
- :mod:`.metadata`: what the output records in ``meta`` (source, hash,
  :class:`~custom_modules.conventions.PretrainConventions`);
- :mod:`.conversion`: writing the targets and :func:`convert`, the whole
  conversion behind ``tools/model_converters/convert.py``.

The names below are importable from the package. Only :mod:`.formats` is
imported with it; the others (torch, ``custom_modules``) on first use of one
of their names (PEP 562), so that a command line can build its options from
:data:`FORMATS` and :data:`TARGETS` without paying for torch.
"""
import importlib
from typing import Any, List

from .formats import (ENCODERS, FORMATS, MOCO_MOMENTUM_BACKBONE,
                      MOCO_MOMENTUM_NECK, TARGETS, CheckpointFormatError,
                      detect_format, load_source)

#: Submodule -> the public names it gives the package on first use.
_LAZY = {
    'sources': ('SourceParts', 'split_source', 'to_resnet_state_dict'),
    'resnet': ('RESNET_ARCH', 'RESNET_ROOTS', 'expected_resnet_keys',
               'detect_depth', 'verify_resnet_state_dict',
               'complete_bn_counters'),
    'metadata': ('IMAGENET_MEAN', 'IMAGENET_STD', 'PRETRAIN_CONVENTIONS',
                 'pretrain_conventions'),
    'conversion': ('convert', 'build_mmdet_checkpoint',
                   'build_moco_checkpoint', 'mocov2_neck'),
}
_LAZY_NAMES = {name: module for module, names in _LAZY.items()
               for name in names}

__all__ = [
    'ENCODERS', 'FORMATS', 'MOCO_MOMENTUM_BACKBONE', 'MOCO_MOMENTUM_NECK',
    'TARGETS', 'CheckpointFormatError', 'detect_format', 'load_source',
    *_LAZY_NAMES
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY_NAMES:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    module = importlib.import_module(f'.{_LAZY_NAMES[name]}', __name__)
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
