"""Atomic file writes: a file appears complete or not at all.

Every writer of the toolkit goes through :func:`atomic_open`: text and
lists, JSON (:func:`atomic_write_json`), checkpoints
(:func:`atomic_torch_save`), figures (:func:`atomic_savefig`) and images
(:func:`atomic_save_image`, :func:`atomic_write_bytes`). A kill at any
moment leaves either the previous file or the new one, never half of one.
:func:`refuse_overwrite` is the one check behind every ``--force``.
"""
import contextlib
import json
import os
import os.path as osp
import tempfile
from typing import IO, Any, Iterable, Iterator, Optional

__all__ = [
    'atomic_open', 'atomic_write_text', 'atomic_write_bytes',
    'atomic_write_json', 'atomic_torch_save', 'atomic_savefig',
    'atomic_save_image', 'refuse_overwrite'
]


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
def atomic_open(path: str,
                mode: str = 'wb',
                fsync: bool = True) -> Iterator[IO[Any]]:
    """Open ``path`` for writing so that it appears complete or not at all.

    The data go to a temporary file in the same folder, which is flushed,
    ``fsync``-ed and moved over ``path`` with :func:`os.replace` when the
    block ends without an exception. On an exception the temporary file is
    removed and ``path`` is untouched. The new file gets the permissions a
    plain ``open`` would give it (``0o666`` minus the umask).

    Args:
        path (str): The final file; its folder is created if needed.
        mode (str): ``'wb'`` or ``'w'`` (UTF-8, ``'\\n'`` line ends).
            Defaults to ``'wb'``.
        fsync (bool): ``fsync`` the file and its folder, so that the new
            file also survives a power cut. The rename alone already keeps
            a killed process from leaving half a file; bulk writers of
            files that can be made again (thousands of generated images)
            pass False to save the milliseconds of each ``fsync``.
            Defaults to True.

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
            if fsync:
                os.fsync(f.fileno())
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    if fsync:
        _fsync_dir(folder)


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, 'w') as f:
        f.write(text)


def atomic_write_bytes(path: str, data: bytes, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically, e.g. an encoded image.

    Args:
        path (str): The file.
        data (bytes): Its content.
        fsync (bool): See :func:`atomic_open`. Defaults to True.
    """
    with atomic_open(path, 'wb', fsync=fsync) as f:
        f.write(data)


def atomic_write_json(path: str,
                      obj: Any,
                      indent: Optional[int] = None) -> None:
    """``json.dump`` to ``path`` atomically, with a final newline.

    Args:
        path (str): The file.
        obj: What to write (JSON types only).
        indent (int, optional): As for :func:`json.dump`. Defaults to None
            (one line).
    """
    with atomic_open(path, 'w') as f:
        json.dump(obj, f, indent=indent)
        f.write('\n')


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save(obj, path)``, atomically (a checkpoint is whole or
    absent)."""
    import torch
    with atomic_open(path, 'wb') as f:
        torch.save(obj, f)


def atomic_savefig(fig: Any, path: str, **kwargs) -> str:
    """``fig.savefig(path, **kwargs)``, atomically.

    The format is the one of the file's extension (``.png``, ``.pdf``,
    ``.svg`` ...), as :meth:`matplotlib.figure.Figure.savefig` picks it for
    a path.

    Args:
        fig (matplotlib.figure.Figure): The figure.
        path (str): The file.
        **kwargs: Passed to ``savefig`` (``dpi``, ``bbox_inches`` ...).

    Returns:
        str: ``path``.
    """
    fmt = osp.splitext(path)[1].lstrip('.').lower() or 'png'
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format=fmt, **kwargs)
    return path


def atomic_save_image(path: str,
                      image: Any,
                      fsync: bool = True,
                      **params) -> str:
    """Save an image with Pillow, atomically.

    Args:
        path (str): The file; its extension picks the format (``.png``,
            ``.jpg`` ...).
        image (PIL.Image.Image | numpy.ndarray): The image; an array is
            ``H x W x 3`` RGB (or ``H x W``) ``uint8``.
        fsync (bool): See :func:`atomic_open`. Defaults to True.
        **params: Format options of :meth:`PIL.Image.Image.save`, e.g.
            ``quality=90``.

    Returns:
        str: ``path``.
    """
    from PIL import Image
    if not isinstance(image, Image.Image):
        image = Image.fromarray(image)
    ext = osp.splitext(path)[1].lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None:
        raise ValueError(f'{path}: no image format has the extension '
                         f'{ext or "(none)"!r}; use .png or .jpg')
    with atomic_open(path, 'wb', fsync=fsync) as f:
        image.save(f, format=fmt, **params)
    return path


def refuse_overwrite(paths: Iterable[str], force: bool = False) -> None:
    """Stop before anything is written if an output already exists.

    Args:
        paths (Iterable[str]): The files a command is about to write.
        force (bool): The command's ``--force``: overwriting is allowed.
            Defaults to False.

    Raises:
        FileExistsError: Naming every existing file and ``--force``.
    """
    if force:
        return
    existing = [p for p in paths if osp.exists(p)]
    if existing:
        verb = 'exists' if len(existing) == 1 else 'exist'
        raise FileExistsError(f'{", ".join(existing)} already {verb}; pass '
                              '--force to overwrite')
