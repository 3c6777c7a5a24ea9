"""Checkpoints and ``last_checkpoint`` written atomically.

Local files go to a temporary file in the same folder and are moved into
place with :func:`os.replace`; the checkpoints that ``max_keep_ckpts``
retires are deleted only afterwards. Other backends keep upstream's
behaviour.

Answers: mmengine 0.10.7 ``save_checkpoint`` and
``CheckpointHook._save_checkpoint_with_step``, which write in place and
delete the oldest checkpoint first, so a kill while saving can leave no
usable checkpoint. Each part is skipped when upstream uses ``os.replace``.
"""
import contextlib
import inspect
import os
import os.path as osp
import tempfile
from typing import IO, Any, Callable, Iterator, List, Optional, Tuple

import torch

_originals: dict = {}


def _fsync_dir(path: str) -> None:
    """``fsync`` a folder so that a rename in it survives a power cut."""
    if os.name != 'posix':
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str, mode: str = 'wb') -> Iterator[IO[Any]]:
    """Open ``path`` for writing so that it appears complete or not at all
    (on an exception ``path`` is untouched), with a plain ``open``'s mode.

    Args:
        path (str): The final file.
        mode (str): ``'wb'`` or ``'w'``. Defaults to ``'wb'``.

    Yields:
        file: The open temporary file.
    """
    if mode not in ('w', 'wb'):
        raise ValueError(f'atomic_open writes only ("w" or "wb"), got {mode}')
    text = dict(encoding='utf-8', newline='\n') if mode == 'w' else {}
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, mode, **text) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


def _is_local(filename: str, backend_args: Optional[dict]) -> bool:
    from mmengine.fileio import LocalBackend, get_file_backend
    try:
        backend = get_file_backend(filename, backend_args=backend_args)
    except Exception:  # noqa: B902  unknown prefix: leave it to upstream
        return False
    return isinstance(backend, LocalBackend)


def save_checkpoint(checkpoint: dict,
                    filename: str,
                    file_client_args: Optional[dict] = None,
                    backend_args: Optional[dict] = None) -> None:
    """mmengine's ``save_checkpoint``, atomic for local files."""
    filename = str(filename)
    if (file_client_args is not None or filename.startswith('pavi://')
            or not _is_local(filename, backend_args)):
        return _originals['save_checkpoint'](
            checkpoint,
            filename,
            file_client_args=file_client_args,
            backend_args=backend_args)
    if filename.startswith('file://'):
        filename = filename[len('file://'):]
    with atomic_open(filename, 'wb') as f:
        torch.save(checkpoint, f)


def _open_for_hook(file: Any, mode: str = 'r', *args, **kwargs):
    """``open`` for ``checkpoint_hook``: its plain ``'w'`` (of
    ``last_checkpoint``) is atomic."""
    if mode in ('w', 'wb') and not args and not kwargs:
        return atomic_open(os.fspath(file), mode)
    return open(file, mode, *args, **kwargs)


class _DeferredRemovals:
    """A file backend whose ``remove``/``rmtree`` are only recorded."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.pending: List[Tuple[Callable, str]] = []

    def remove(self, path: str) -> None:
        self.pending.append((self._backend.remove, path))

    def rmtree(self, path: str) -> None:
        self.pending.append((self._backend.rmtree, path))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


def _save_checkpoint_with_step(self, runner, step, meta):
    """Upstream's, removing retired checkpoints after the new one."""
    backend = self.file_backend
    deferred = _DeferredRemovals(backend)
    self.file_backend = deferred
    try:
        _originals['_save_checkpoint_with_step'](self, runner, step, meta)
    finally:
        self.file_backend = backend
    for remove, path in deferred.pending:
        remove(path)


def _writes_atomically(func: Callable) -> bool:
    try:
        return 'os.replace' in inspect.getsource(func)
    except (OSError, TypeError):
        return False


def install() -> bool:
    """Patch mmengine's checkpoint saving; idempotent. Returns whether any
    part of the patch is active."""
    import mmengine.runner as runner_pkg
    from mmengine.hooks import checkpoint_hook
    from mmengine.runner import checkpoint as ckpt_mod
    from mmengine.runner import runner as runner_mod
    hook = checkpoint_hook.CheckpointHook
    if ('save_checkpoint' not in _originals
            and not _writes_atomically(ckpt_mod.save_checkpoint)):
        _originals['save_checkpoint'] = ckpt_mod.save_checkpoint
        for module in (ckpt_mod, runner_mod, runner_pkg):
            module.save_checkpoint = save_checkpoint
    if ('_save_checkpoint_with_step' not in _originals
            and not _writes_atomically(hook._save_checkpoint_with_step)):
        _originals['_save_checkpoint_with_step'] = (
            hook._save_checkpoint_with_step)
        hook._save_checkpoint_with_step = _save_checkpoint_with_step
        # The module's only ``open`` writes last_checkpoint.
        checkpoint_hook.open = _open_for_hook
    return bool(_originals)
