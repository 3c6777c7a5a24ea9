"""``UnlabeledImageDataset``: a folder or a list of unlabeled images.

Problems are errors before training, naming the folder, the list and its
lines; list lines that lead out of the image root are refused unless
``allow_outside_root`` (docs/security.md).
"""
import os
import os.path as osp
from typing import Iterable, List, Optional, Sequence, Tuple

from mmengine.dataset import BaseDataset
from mmselfsup.registry import DATASETS

#: Extensions found by a folder scan (compared case-insensitively).
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg')

#: How many bad lines an error message names before it summarizes.
MAX_NAMED_MISSING = 10


def scan_images(root: str,
                extensions: Iterable[str] = IMAGE_EXTENSIONS) -> List[str]:
    """The images under ``root``, recursively; links followed (each folder
    once), hidden entries skipped.

    Args:
        root (str): The folder.
        extensions (Iterable[str]): Extensions with the dot, any case.
            Defaults to :data:`IMAGE_EXTENSIONS`.

    Returns:
        list[str]: Sorted paths relative to ``root``, ``/``-separated.
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
                elif entry.name.lower().endswith(exts) and entry.is_file():
                    found.append(rel_name)
    return sorted(found)


def read_image_list(list_file: str,
                    img_root: str = '') -> List[Tuple[int, str]]:
    """Image paths, one a line (blank and ``#`` lines skipped), relative
    ones joined to ``img_root``.

    Returns:
        list[tuple[int, str]]: ``(line_number, path)``, 1-based.
    """
    if not osp.isfile(list_file):
        raise FileNotFoundError(
            f'image list {list_file} does not exist (ann_file of '
            'UnlabeledImageDataset is resolved against data_root)')
    paths = []
    with open(list_file, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            name = line.strip()
            if name and not name.startswith('#'):
                paths.append((number, osp.join(img_root, name)))
    return paths


@DATASETS.register_module()
class UnlabeledImageDataset(BaseDataset):
    """Unlabeled images from a folder (recursive) or a list file; each
    sample is ``dict(img_path=...)``.

    Args:
        data_root (str): Root of the data. Defaults to ''.
        ann_file (str): Optional list of image paths, one a line, relative
            to the image root unless absolute; empty to scan the folder.
            Defaults to ''.
        data_prefix (dict, optional): ``img_path``: the image root, relative
            to ``data_root``. Defaults to ``dict(img_path='')``.
        extensions (Sequence[str]): Extensions a folder scan accepts.
            Defaults to :data:`IMAGE_EXTENSIONS`.
        check_files (bool): With ``ann_file``, check before training that
            every listed file exists and, links followed, lies under the
            image root. Defaults to True.
        allow_outside_root (bool): With ``ann_file``, accept lines that lead
            out of the image root. Defaults to False.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
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
        """Scan the folder or read the list."""
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
        base = osp.realpath(root) if self.check_files else root
        outside = []
        for number, path in entries:
            lexical = osp.normpath(osp.abspath(path))
            where = osp.realpath(path) if self.check_files else lexical
            if (osp.commonpath([lexical, root]) != root
                    or osp.commonpath([where, base]) != base):
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
