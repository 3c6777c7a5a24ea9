"""Checkpoint loading under torch >= 2.6 without trusting pickles.

Every local checkpoint is read by :func:`load_checkpoint_file`:
``weights_only=True`` with an allow-list of the types mmengine pickles,
never ``weights_only=False``. ``meta['config']`` becomes
``meta['config_text']``, since ``Runner.resume`` would execute it with
``Config.fromstring`` (docs/security.md).

Answers: mmengine 0.10.7 ``load_from_local`` with torch >= 2.6, whose
``weights_only=True`` default breaks ``--resume`` (mmengine issue #1623).
Skipped when mmengine passes ``weights_only`` itself.
"""
import inspect
import os.path as osp
import pickle
import re
from typing import Any, Callable, List, Optional

import numpy as np
import torch


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint holds objects outside the weights-only allow-list."""


class CheckpointReadError(RuntimeError):
    """A file that is not a readable checkpoint, or holds broken weights."""


def _history_buffer_getattr(obj: Any, name: str) -> Callable:
    """``getattr`` for ``HistoryBuffer``'s public methods only (mmengine
    pickles ``getattr(HistoryBuffer, 'mean')``...)."""
    from mmengine.logging.history_buffer import HistoryBuffer
    if not (isinstance(obj, type) and issubclass(obj, HistoryBuffer)
            and not name.startswith('_')
            and callable(getattr(obj, name, None))):
        raise pickle.UnpicklingError(
            f'refused getattr({obj!r}, {name!r}): only HistoryBuffer '
            'statistics methods may be referenced in a checkpoint')
    return getattr(obj, name)


def safe_globals() -> List[Any]:
    """The non-tensor types that mmengine/mmdet/mmselfsup checkpoints hold."""
    from mmengine.logging.history_buffer import HistoryBuffer
    core = getattr(np, '_core', None) or np.core  # numpy 2 / numpy 1
    return [
        HistoryBuffer, core.multiarray.scalar, core.multiarray._reconstruct,
        np.ndarray, np.dtype, (_history_buffer_getattr, 'builtins.getattr')
    ] + [
        type(np.dtype(code))
        for code in ('b', 'u1', 'i1', 'i2', 'i4', 'i8', 'u2', 'u4', 'u8', 'f2',
                     'f4', 'f8', 'U', 'S', 'O')
    ]


def load_checkpoint_file(filename: str,
                         map_location: Optional[Any] = None) -> Any:
    """Load a local checkpoint with ``weights_only=True`` and the allow-list.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (optional): As for :func:`torch.load`.

    Raises:
        FileNotFoundError: The file does not exist.
        UnsafeCheckpointError: The file holds other Python objects; the
            message names the file and the refused global.
        CheckpointReadError: The file is empty, truncated or not a
            checkpoint, or its weights hold NaN or infinite values.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'checkpoint {filename} can not be found (check the path given '
            'to --resume, load_from or init_cfg.checkpoint)')
    if osp.getsize(filename) == 0:
        raise CheckpointReadError(
            f'{filename} is empty (0 bytes): an interrupted download or '
            'copy? Fetch or save it again.')
    try:
        with torch.serialization.safe_globals(safe_globals()):
            ckpt = torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r'GLOBAL ([\w.]+)', str(e))
        if not found:  # not a pickle of objects: not a checkpoint at all
            reason = str(e).strip().splitlines()[-1]
            raise CheckpointReadError(
                f'{filename} cannot be read as a PyTorch checkpoint ('
                f'{reason}): another format, or a damaged file? Fetch or '
                'save it again.') from e
        what = found.group(1)
        raise UnsafeCheckpointError(
            f'{filename} holds Python objects that are not on the safe '
            f'list, so it was not loaded (refused: {what}). '
            'Weights files should hold tensors only. If you trust the file, '
            're-save just its weights once: python -c "import torch; '
            f"c = torch.load('{filename}', weights_only=False); "
            "torch.save({'state_dict': c['state_dict']}, 'weights.pth')\" "
            '(pick the key that holds the weights), and use weights.pth.'
        ) from e
    except (EOFError, RuntimeError, ValueError, OSError) as e:
        raise CheckpointReadError(
            f'{filename} cannot be read as a PyTorch checkpoint (truncated, '
            f'or another format?): {type(e).__name__}: '
            f'{str(e).splitlines()[0] if str(e) else ""}. Fetch or save it '
            'again.') from e
    _check_finite(ckpt, filename)
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    if isinstance(meta, dict) and 'config' in meta:
        meta['config_text'] = meta.pop('config')
    return ckpt


def _tensors(obj: Any, prefix: str = '', depth: int = 0):
    """``(key, tensor)`` of every tensor in nested dicts and lists."""
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif depth < 6 and isinstance(obj, dict):
        for k, v in obj.items():
            yield from _tensors(v, f'{prefix}.{k}' if prefix else str(k),
                                depth + 1)
    elif depth < 6 and isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _tensors(v, f'{prefix}[{i}]', depth + 1)


def _check_finite(ckpt: Any, filename: str) -> None:
    """Refuse NaN or infinite weights, naming the file and keys."""
    bad = [
        key for key, value in _tensors(ckpt)
        if value.is_floating_point() and value.numel()
        and not bool(torch.isfinite(value).all())
    ]
    if bad:
        raise CheckpointReadError(
            f'{filename}: {len(bad)} tensors hold NaN or infinite values '
            f'({", ".join(bad[:5])}); these weights are broken (a diverged '
            'run?). Use an earlier checkpoint of the run, or other weights.')


def _upstream_fixed() -> bool:
    from mmengine.runner import checkpoint
    return 'weights_only' in inspect.getsource(checkpoint.load_from_local)


def install() -> bool:
    """Route mmengine's local checkpoint loading through our loader."""
    from mmengine.runner.checkpoint import CheckpointLoader
    if _upstream_fixed():
        return False
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_checkpoint_file, force=True)
    return True
