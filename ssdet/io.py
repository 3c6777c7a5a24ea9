"""Atomic file writes: a file appears complete or not at all.

Every writer of the project (checkpoints, converters' JSON and lists, sweep
markers, metrics) goes through :func:`atomic_open`, so a kill at any moment
leaves either the previous file or the new one, never half of one.
"""
import contextlib
import os
import os.path as osp
import tempfile
from typing import IO, Any, Iterator


def _fsync_dir(path: str) -> None:
    """``fsync`` a folder so a rename in it survives a power cut (POSIX)."""
    if os.name != 'posix':
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_open(path: str, mode: str = 'wb') -> Iterator[IO[Any]]:
    """Open ``path`` for writing so that it appears complete or not at all.

    The data go to a temporary file in the same folder, which is flushed,
    ``fsync``-ed and moved over ``path`` with :func:`os.replace` when the
    block ends without an exception. On an exception the temporary file is
    removed and ``path`` is untouched. The new file gets the permissions a
    plain ``open`` would give it (``0o666`` minus the umask).

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
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, 'w') as f:
        f.write(text)
