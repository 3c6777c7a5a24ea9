"""``UnlabeledImageDataset``: a folder or a list of unlabeled images.

``data_root`` is a folder scanned recursively for ``.png``, ``.jpg`` and
``.jpeg`` (any case), or ``ann_file`` lists image paths, one a line, relative
lines resolved against ``data_root`` (as the nuImages extractor writes them).
Problems are errors before training, naming the folder, the list and its
lines: a missing or empty folder or list, listed files that do not exist,
and lines that lead out of the data root (``../``, absolute paths elsewhere,
symbolic links out of it) unless ``allow_outside_root``: a list file may come
from someone else.
"""
import os
import os.path as osp
from typing import Iterable, List, Optional, Sequence, Tuple

from mmengine.dataset import BaseDataset
from mmselfsup.registry import DATASETS

#: Extensions found by a folder scan (compared case-insensitively).
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg')

#: How many missing files an error message names before it summarizes.
MAX_NAMED_MISSING = 10


def scan_images(root: str,
                extensions: Iterable[str] = IMAGE_EXTENSIONS) -> List[str]:
    """The images under ``root``, recursively, with one :func:`os.scandir`
    pass a folder; links are followed (each folder once), hidden entries
    skipped.

    Args:
        root (str): The folder.
        extensions (Iterable[str]): Accepted extensions with the dot,
            matched case-insensitively. Defaults to :data:`IMAGE_EXTENSIONS`.

    Returns:
        list[str]: Paths relative to ``root`` with ``/`` separators, sorted.

    Raises:
        FileNotFoundError: ``root`` is not a folder.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(
            f'image folder {root} does not exist (set data_root, or '
            'data_prefix.img_path, of UnlabeledImageDataset to a folder of '
            'images, or give ann_file, a list of image paths)')
    exts = tuple(e.lower() for e in extensions)
    found: List[str] = []
    visited = set()
    stack: List[Tuple[str, str]] = [(root, '')]
    while stack:
        folder, rel = stack.pop()
        real = osp.realpath(folder)
        if real in visited:
            continue
        visited.add(real)
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith('.'):
                    continue
                rel_name = f'{rel}{entry.name}'
                if entry.is_dir():
                    stack.append((entry.path, rel_name + '/'))
                elif (entry.name.lower().endswith(exts) and entry.is_file()):
                    found.append(rel_name)
    found.sort()
    return found


def read_image_list(list_file: str,
                    img_root: str = '') -> List[Tuple[int, str]]:
    """A list of image paths, one a line; blank and ``#`` lines ignored,
    surrounding whitespace stripped, relative paths joined to ``img_root``.

    Args:
        list_file (str): The list file.
        img_root (str): Folder that relative lines are resolved against.
            Defaults to ''.

    Returns:
        list[tuple[int, str]]: ``(line_number, path)`` pairs, 1-based, in
        file order.

    Raises:
        FileNotFoundError: The list file does not exist.
    """
    if not osp.isfile(list_file):
        raise FileNotFoundError(
            f'image list {list_file} does not exist (ann_file of '
            'UnlabeledImageDataset is resolved against data_root)')
    paths = []
    with open(list_file, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            name = line.strip()
            if not name or name.startswith('#'):
                continue
            paths.append(
                (number,
                 name if osp.isabs(name) else osp.join(img_root, name)))
    return paths


@DATASETS.register_module()
class UnlabeledImageDataset(BaseDataset):
    """Unlabeled images from a folder (recursive) or a list file; each
    sample is ``dict(img_path=...)``.

    Example:
        >>> dict(type='UnlabeledImageDataset', data_root='data/unlabeled/')
        >>> dict(type='UnlabeledImageDataset', data_root='data/nuimages/',
        ...      ann_file='train.txt')

    Args:
        data_root (str): Root of the data. Defaults to ''.
        ann_file (str): Optional list of image paths, one a line, relative
            to ``data_root`` unless absolute. Empty to scan the folder.
            Defaults to ''.
        data_prefix (dict, optional): ``img_path``: the folder to scan, or
            that relative list lines are resolved against, relative to
            ``data_root``. Defaults to ``dict(img_path='')``.
        extensions (Sequence[str]): Extensions a folder scan accepts.
            Defaults to :data:`IMAGE_EXTENSIONS`.
        check_files (bool): With ``ann_file``, check that every listed file
            exists and, following symbolic links, lies under the image root
            before training (a few ``stat`` calls a file). Defaults to True.
        allow_outside_root (bool): With ``ann_file``, accept lines that lead
            out of the image root (``data_root`` joined with
            ``data_prefix.img_path``). Defaults to False.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`
            (``pipeline``, ``max_refetch``, ``lazy_init``, ...).
    """

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = '',
                 data_prefix: Optional[dict] = None,
                 extensions: Sequence[str] = IMAGE_EXTENSIONS,
                 check_files: bool = True,
                 allow_outside_root: bool = False,
                 **kwargs) -> None:
        self.extensions = tuple(extensions)
        self.check_files = check_files
        self.allow_outside_root = allow_outside_root
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=dict(data_prefix or dict(img_path='')),
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Scan the folder or read the list.

        Raises:
            FileNotFoundError: Missing folder or list, or listed files that
                do not exist (up to :data:`MAX_NAMED_MISSING` named).
            ValueError: No image found, an empty list, or lines out of the
                root.
        """
        img_root = self.data_prefix.get('img_path', '') or ''
        if self.ann_file:
            return self._load_list(img_root)
        if not img_root:
            raise ValueError(
                'UnlabeledImageDataset needs data_root (a folder of images) '
                'or ann_file (a list of image paths); both are empty')
        names = scan_images(img_root, self.extensions)
        if not names:
            raise ValueError(
                f'no image ({"/".join(self.extensions)}, any case) found '
                f'under {img_root} (searched recursively). Point '
                'data_root at a folder of images, or give ann_file, a list '
                'of image paths.')
        return [dict(img_path=osp.join(img_root, n)) for n in names]

    def _load_list(self, img_root: str) -> List[dict]:
        entries = read_image_list(self.ann_file, img_root)
        if not entries:
            raise ValueError(f'image list {self.ann_file} names no image')
        if img_root and not self.allow_outside_root:
            self._check_inside(entries, img_root)
        if self.check_files:
            missing = [(n, p) for n, p in entries if not osp.isfile(p)]
            if missing:
                named = '\n'.join(f'  {self.ann_file}:{n}: {p}'
                                  for n, p in missing[:MAX_NAMED_MISSING])
                more = len(missing) - MAX_NAMED_MISSING
                raise FileNotFoundError(
                    f'{len(missing)} of {len(entries)} images listed in '
                    f'{self.ann_file} do not exist (relative lines are '
                    f'resolved against {img_root or "the working dir"}):\n'
                    f'{named}' +
                    (f'\n  ... and {more} more' if more > 0 else '') +
                    '\nFix the list or data_root.')
        return [dict(img_path=p) for _, p in entries]

    def _check_inside(self, entries: List[Tuple[int, str]],
                      img_root: str) -> None:
        """Refuse lines out of ``img_root`` by ``..`` or an absolute path
        and, with ``check_files``, by a symbolic link."""
        root = osp.normpath(osp.abspath(img_root))
        real_root = osp.realpath(root)
        outside = []
        for number, path in entries:
            lexical = osp.normpath(osp.abspath(path))
            where = lexical if not self.check_files else osp.realpath(path)
            base = root if not self.check_files else real_root
            if osp.commonpath([lexical, root]) != root or osp.commonpath(
                    [where, base]) != base:
                outside.append((number, path, where))
        if outside:
            named = '\n'.join(f'  {self.ann_file}:{n}: {p} -> {w}'
                              for n, p, w in outside[:MAX_NAMED_MISSING])
            raise ValueError(
                f'{len(outside)} of {len(entries)} lines of {self.ann_file} '
                f'lead out of the image root {img_root}:\n{named}\nA list '
                'file names images under its root. Fix the list, or, if the '
                'images are meant to live elsewhere, set '
                'allow_outside_root=True on the dataset.')
