"""Image lists from the nuImages v1.0 tables, read without the devkit.

nuImages ships its metadata as JSON arrays, one file per table, under
``<root>/<version>/`` (``v1.0-train``, ``v1.0-val``, ``v1.0-test``,
``v1.0-mini``). The image of a ``sample_data`` row reaches its camera
through two foreign keys::

    sample_data.calibrated_sensor_token -> calibrated_sensor.token
    calibrated_sensor.sensor_token      -> sensor.token  (sensor.channel)

Field names follow the nuImages schema of the nuScenes devkit
(``docs/schema_nuimages.md`` and ``python-sdk/nuimages/nuimages.py`` in
https://github.com/nutonomy/nuscenes-devkit); the code is our own.

``sample_data.json`` of the train split holds about 1.3 M rows (over half a
gigabyte). :func:`iter_json_array` streams it row by row with ijson, so
memory holds one chunk plus the kept file names rather than the whole
decoded table (see ``docs/nuimages.md``).

:func:`make_fake_tables` writes a synthetic root in the same schema. It is
for tests and benchmarks only.
"""
import contextlib
import io
import json
import logging
import os
import os.path as osp
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import (IO, Callable, Dict, Iterable, Iterator, List, Optional,
                    Sequence, Tuple, Union)

import ijson

from ..io import atomic_open, atomic_write_bytes

logger = logging.getLogger(__name__)

#: The tables :func:`select_images` reads, in the order it reads them.
REQUIRED_TABLES = ('sensor', 'calibrated_sensor', 'sample_data')

#: The six cameras of the nuImages (and nuScenes) car.
CAMERA_CHANNELS = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT',
                   'CAM_BACK', 'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')

_SAMPLE_DATA_FIELDS = ('calibrated_sensor_token', 'filename', 'is_key_frame')


class NuImagesFormatError(ValueError):
    """A nuImages table that does not follow the v1.0 schema."""


class MissingTableError(FileNotFoundError):
    """A nuImages table file that is not on disk."""


class SubsetTooLargeError(ValueError):
    """A subset size larger than the number of selected images."""


@dataclass
class NuImagesSelection:
    """The images :func:`select_images` kept, and how it got there.

    Attributes:
        paths (list[str]): Kept image paths relative to the nuImages root,
            exactly as in ``sample_data.filename``, sorted.
        channels (list[str]): The channels that were selected.
        versions (list[str]): The version folders read, in order.
        rows (int): ``sample_data`` rows read (all sensors, all versions).
        key_frames (int): Rows with ``is_key_frame`` true (all sensors).
        selected (Counter): Rows of a selected channel that passed the key
            frame / sweep rule, by channel (before the file check).
        selected_sweeps (int): How many of ``selected`` are sweeps.
        kept_per_channel (Counter): Kept images by channel.
        missing (list[str]): Selected paths whose file is absent (skipped),
            sorted.
        checked_files (bool): Whether the files were looked for at all.
    """
    paths: List[str] = field(default_factory=list)
    channels: List[str] = field(default_factory=list)
    versions: List[str] = field(default_factory=list)
    rows: int = 0
    key_frames: int = 0
    selected: Counter = field(default_factory=Counter)
    selected_sweeps: int = 0
    kept_per_channel: Counter = field(default_factory=Counter)
    missing: List[str] = field(default_factory=list)
    checked_files: bool = True

    @property
    def kept(self) -> int:
        """int: Number of kept images."""
        return len(self.paths)


def table_path(root: str, version: str, table: str) -> str:
    """Path of one table, ``<root>/<version>/<table>.json``.

    Args:
        root (str): The nuImages root (holds ``samples/`` and the version
            folders).
        version (str): Version folder, e.g. ``'v1.0-train'``.
        table (str): Table name, e.g. ``'sample_data'``.

    Returns:
        str: The path.
    """
    return osp.join(root, version, f'{table}.json')


def check_tables(root: str,
                 version: str,
                 tables: Sequence[str] = REQUIRED_TABLES) -> None:
    """Raise a helpful error if a needed table file is absent.

    Args:
        root (str): The nuImages root.
        version (str): Version folder, e.g. ``'v1.0-train'``.
        tables (Sequence[str]): Table names to look for.
            Defaults to :data:`REQUIRED_TABLES`.

    Raises:
        MissingTableError: Naming every missing file and what to download.
    """
    missing = [
        table_path(root, version, t) for t in tables
        if not osp.isfile(table_path(root, version, t))
    ]
    if missing:
        raise MissingTableError(
            f'nuImages table(s) not found: {", ".join(missing)}. Download '
            f'the nuImages metadata (nuimages-v1.0-all-metadata.tgz from '
            f'https://www.nuscenes.org/nuimages) and extract it into '
            f'{root!r} so that {osp.join(root, version)!r} holds '
            f'{", ".join(t + ".json" for t in tables)}; check --version.')


class _CountingReader:
    """A binary file that counts (and reports) the bytes read from it.

    ``chunk`` is the byte range of the last read: the parser stops with an
    error inside the chunk it was given last.
    """

    def __init__(self, file: IO[bytes],
                 on_progress: Optional[Callable[[int], None]]) -> None:
        self.file = file
        self.on_progress = on_progress
        self.chunk = (0, 0)

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        if data:
            self.chunk = (self.chunk[1], self.chunk[1] + len(data))
            if self.on_progress is not None:
                self.on_progress(len(data))
        return data


def _first_byte(file: IO[bytes]) -> bytes:
    """The first byte that is not JSON whitespace (b'' at the end)."""
    while True:
        chunk = file.read(1 << 12)
        if not chunk:
            return b''
        chunk = chunk.lstrip(b' \t\n\r')
        if chunk:
            return chunk[:1]


def _describe(error: Exception) -> str:
    """The first line of a yajl error and the text it points at."""
    text = error.args[0] if error.args else str(error)
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    lines = str(text).splitlines()
    if not lines:
        return type(error).__name__
    if len(lines) > 1 and lines[1].strip():
        return f'{lines[0].rstrip(".")}, at {lines[1].strip()!r}'
    return lines[0]


def iter_json_array(
        path: str,
        chunk_bytes: int = 1 << 16,
        on_progress: Optional[Callable[[int], None]] = None) -> Iterator[dict]:
    """Yield the objects of a top-level JSON array one at a time.

    The file is parsed by `ijson <https://pypi.org/project/ijson/>`_ (its
    yajl2 C backend where installed), ``chunk_bytes`` at a time, so memory
    holds one chunk and one element, never the whole array. Only arrays of
    objects are accepted: that is what every nuImages table is. Numbers
    come back as ``int`` and ``float``, as from :func:`json.load`.

    Args:
        path (str): The JSON file.
        chunk_bytes (int): Bytes read per step. Defaults to 64 KiB.
        on_progress (callable, optional): Called with the number of bytes
            read after every read, e.g. ``tqdm.update``. Defaults to None.

    Yields:
        dict: One element of the array.

    Raises:
        NuImagesFormatError: The file is not a JSON array of objects; the
            message names the file, the last complete row, the byte range
            of the chunk being parsed and the text the parser stopped at.
    """
    with open(path, 'rb') as f:
        if _first_byte(f) != b'[':
            raise NuImagesFormatError(
                f'{path}: expected a JSON array ("[" ...), the format of '
                f'every nuImages table; is the file complete?')
        f.seek(0)
        reader = _CountingReader(f, on_progress)
        index = 0
        rows = ijson.items(reader, 'item', buf_size=chunk_bytes,
                           use_float=True)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except ijson.JSONError as exc:
                reason = _describe(exc)
                where = f'after row {index - 1}' if index else 'in row 0'
                start, end = reader.chunk
                state = 'truncated' if 'premature EOF' in reason else \
                    'malformed'
                raise NuImagesFormatError(
                    f'{path}: {state} JSON {where} (bytes {start}-{end}: '
                    f'{reason}); the file is damaged or cut short: '
                    're-extract the metadata') from exc
            if not isinstance(row, dict):
                raise NuImagesFormatError(
                    f'{path}: row {index} is not a JSON object; the file '
                    f'is damaged or not a nuImages table')
            yield row
            index += 1


def load_table(path: str) -> List[dict]:
    """Load a small table whole (``sensor``, ``calibrated_sensor``).

    Args:
        path (str): The table file.

    Returns:
        list[dict]: Its rows.
    """
    return list(iter_json_array(path))


def _field(row: dict, key: str, path: str, index: int):
    try:
        return row[key]
    except KeyError:
        raise NuImagesFormatError(
            f'{path}: row {index} has no field {key!r} (fields: '
            f'{sorted(row)}); expected the nuImages v1.0 schema') from None


def load_channel_map(root: str, version: str) -> Dict[str, Tuple[str, str]]:
    """Map ``calibrated_sensor`` tokens to ``(channel, modality)``.

    Args:
        root (str): The nuImages root.
        version (str): Version folder, e.g. ``'v1.0-train'``.

    Returns:
        dict[str, tuple[str, str]]: ``calibrated_sensor.token`` to the
        ``channel`` and ``modality`` of its sensor.
    """
    sensor_file = table_path(root, version, 'sensor')
    sensors = {}
    for i, row in enumerate(load_table(sensor_file)):
        token, channel, modality = (
            _field(row, k, sensor_file, i)
            for k in ('token', 'channel', 'modality'))
        sensors[token] = (channel, modality)
    calib_file = table_path(root, version, 'calibrated_sensor')
    channel_map = {}
    for i, row in enumerate(load_table(calib_file)):
        sensor_token = _field(row, 'sensor_token', calib_file, i)
        if sensor_token not in sensors:
            raise NuImagesFormatError(
                f'{calib_file}: row {i} points to sensor {sensor_token!r}, '
                f'which {sensor_file} does not hold; the tables come from '
                f'different releases')
        channel_map[_field(row, 'token', calib_file, i)] = \
            sensors[sensor_token]
    return channel_map


def _wanted_channels(root: str, version: str,
                     channel_map: Dict[str, Tuple[str, str]],
                     channels: Optional[Iterable[str]]) -> List[str]:
    """The channels to keep of one version: ``channels``, each checked to
    exist there, or every camera channel of its sensor table."""
    if channels is None:
        return sorted({
            ch
            for ch, modality in channel_map.values() if modality == 'camera'
        })
    known = sorted({ch for ch, _ in channel_map.values()})
    wanted = sorted(set(channels))
    unknown = [ch for ch in wanted if ch not in known]
    if unknown:
        raise ValueError(f'unknown channel(s) {unknown}; '
                         f'{table_path(root, version, "sensor")} has {known}')
    return wanted


def select_images(
        root: str,
        version: Union[str, Sequence[str]] = 'v1.0-train',
        channels: Optional[Iterable[str]] = None,
        sweeps: bool = False,
        check_files: bool = True,
        strict: bool = False,
        chunk_bytes: int = 1 << 16,
        on_progress: Optional[Callable[[int],
                                       None]] = None) -> NuImagesSelection:
    """Pick the camera images of one or several nuImages splits.

    Keeps the ``sample_data`` rows whose sensor channel is selected and
    that are key frames (``is_key_frame``), or all of them with ``sweeps``.
    ``sample_data.json`` is streamed (:func:`iter_json_array`). Several
    versions (e.g. ``['v1.0-train', 'v1.0-val', 'v1.0-test']``) give one
    selection; an image listed by two of them is an error, not a repeat.

    Args:
        root (str): The nuImages root.
        version (str | Sequence[str]): Version folder(s).
            Defaults to ``'v1.0-train'``.
        channels (Iterable[str], optional): Sensor channels to keep, e.g.
            ``['CAM_FRONT', 'CAM_BACK']``. Defaults to None: every channel
            whose sensor modality is ``camera``.
        sweeps (bool): Keep the non-key-frame sweeps too.
            Defaults to False.
        check_files (bool): Look for every selected file under ``root``
            and skip (count, log) those that are absent. Defaults to True.
        strict (bool): With ``check_files``, raise instead of skipping
            when files are absent. Defaults to False.
        chunk_bytes (int): Read size of the streaming parser.
            Defaults to 64 KiB.
        on_progress (callable, optional): Called with the bytes of
            ``sample_data.json`` read so far in each step. Defaults to None.

    Returns:
        NuImagesSelection: The kept paths (sorted) and the counts.

    Raises:
        MissingTableError: A needed table is absent.
        NuImagesFormatError: A table does not follow the schema.
        ValueError: An unknown channel was asked for, a version was given
            twice, or two versions list the same image.
        FileNotFoundError: ``strict`` and image files are absent.
    """
    versions = [version] if isinstance(version, str) else list(version)
    twice = sorted({v for v in versions if versions.count(v) > 1})
    if not versions or twice:
        raise ValueError(f'give each version once, got {versions}')
    for v in versions:  # every missing table before any is read
        check_tables(root, v)
    channel_maps = {v: load_channel_map(root, v) for v in versions}
    wanted = {
        v: _wanted_channels(root, v, channel_maps[v], channels)
        for v in versions
    }

    result = NuImagesSelection(
        channels=sorted(set().union(*wanted.values())),
        versions=versions,
        checked_files=check_files)
    origin: Dict[str, str] = {}
    for v in versions:
        wanted_set = set(wanted[v])
        sd_file = table_path(root, v, 'sample_data')
        for i, row in enumerate(
                iter_json_array(sd_file, chunk_bytes, on_progress)):
            calib, filename, is_key = (
                _field(row, k, sd_file, i) for k in _SAMPLE_DATA_FIELDS)
            result.rows += 1
            if is_key:
                result.key_frames += 1
            elif not sweeps:
                continue
            try:
                channel = channel_maps[v][calib][0]
            except KeyError:
                raise NuImagesFormatError(
                    f'{sd_file}: row {i} points to calibrated_sensor '
                    f'{calib!r}, which is not in '
                    f'{table_path(root, v, "calibrated_sensor")}; the '
                    f'tables come from different releases') from None
            if channel not in wanted_set:
                continue
            if filename in origin:
                raise ValueError(
                    f'{sd_file}: row {i} lists {filename}, which '
                    f'{origin[filename]} lists too; the versions overlap: '
                    f'give versions that do not (each image once)')
            origin[filename] = v
            result.selected[channel] += 1
            result.selected_sweeps += not is_key
            if check_files and not osp.isfile(osp.join(root, filename)):
                result.missing.append(filename)
                continue
            result.paths.append(filename)
            result.kept_per_channel[channel] += 1
    result.paths.sort()
    result.missing.sort()

    if result.missing:
        first = ', '.join(result.missing[:5])
        msg = (f'{len(result.missing)} of {sum(result.selected.values())} '
               f'selected images are missing under {root!r} (first: '
               f'{first}); extract the nuImages samples/ (and sweeps/) '
               f'archives there')
        if strict:
            raise FileNotFoundError(msg)
        logger.warning('%s. They were skipped.', msg)
    return result


def nested_subsets(paths: Sequence[str],
                   sizes: Iterable[int],
                   seed: int = 0) -> Dict[int, List[str]]:
    """Draw nested random subsets (5k in 18k in 35k ...) of a list.

    The paths are sorted, shuffled once with ``random.Random(seed)``, and
    each subset is a prefix of that one permutation, so smaller subsets lie
    inside larger ones and a subset does not depend on which other sizes
    were asked for.

    Args:
        paths (Sequence[str]): The full selection.
        sizes (Iterable[int]): Subset sizes.
        seed (int): Seed of the shuffle. Defaults to 0.

    Returns:
        dict[int, list[str]]: Size to its paths, each list sorted.

    Raises:
        SubsetTooLargeError: A size exceeds ``len(paths)`` (no capping).
        ValueError: A size is not positive.
    """
    sizes = sorted(set(sizes))
    bad = [n for n in sizes if n <= 0]
    if bad:
        raise ValueError(f'subset sizes must be positive, got {bad}')
    too_large = [n for n in sizes if n > len(paths)]
    if too_large:
        raise SubsetTooLargeError(
            f'subset size(s) {too_large} exceed the {len(paths)} selected '
            f'images; add --sweeps or more --channels, or ask for smaller '
            f'subsets')
    order = sorted(paths)
    random.Random(seed).shuffle(order)
    return {n: sorted(order[:n]) for n in sizes}


def subset_list_path(list_path: str, size: int) -> str:
    """Name of a subset list: ``train.txt`` -> ``train_5000.txt``.

    Args:
        list_path (str): The full list file.
        size (int): The subset size.

    Returns:
        str: ``<stem>_<size><ext>`` beside ``list_path``.
    """
    stem, ext = osp.splitext(list_path)
    return f'{stem}_{size}{ext}'


def write_list(path: str, lines: Iterable[str]) -> None:
    """Write one path per line, atomically (temp file, then replace).

    Args:
        path (str): The list file; its folder is created if needed.
        lines (Iterable[str]): The lines, without newlines.
    """
    with atomic_open(path, 'w') as f:
        for line in lines:
            f.write(f'{line}\n')


def _token(rng: random.Random) -> str:
    return f'{rng.getrandbits(128):032x}'


class _TableWriter:
    """Writes rows into an open file in the layout of the released tables
    (``[``, one indented object a row, ``]``)."""

    def __init__(self, file: IO[str]) -> None:
        self.file = file
        self.count = 0
        file.write('[\n')

    def write(self, row: dict) -> None:
        if self.count:
            self.file.write(',\n')
        self.file.write(json.dumps(row, indent=0))
        self.count += 1

    def close(self) -> None:
        self.file.write('\n]\n')


@contextlib.contextmanager
def _table_writer(path: str) -> Iterator[_TableWriter]:
    """A :class:`_TableWriter` on ``path``, which appears (atomically) when
    the block ends."""
    with atomic_open(path, 'w') as f:
        writer = _TableWriter(f)
        yield writer
        writer.close()


def _write_table(path: str, rows: Iterable[dict]) -> int:
    with _table_writer(path) as writer:
        for row in rows:
            writer.write(row)
    return writer.count


def make_fake_tables(root: str,
                     num_samples: int,
                     version: str = 'v1.0-train',
                     sweeps_per_sample: int = 2,
                     channels: Sequence[str] = CAMERA_CHANNELS,
                     seed: int = 0,
                     write_images: bool = False) -> Dict[str, object]:
    """Write a synthetic nuImages root (for tests and benchmarks only).

    Each sample gets one key camera frame (channel drawn at random from
    ``channels``, as nuImages has one key camera image per sample),
    ``sweeps_per_sample`` camera sweeps of that channel and one
    ``LIDAR_TOP`` key frame, so ``sample_data.json`` holds
    ``num_samples * (2 + sweeps_per_sample)`` rows in the v1.0 schema.
    Rows are written one at a time, so large roots (a million rows, to check
    that the extractor scales linearly) need little memory.

    Args:
        root (str): Folder to write into (``<root>/<version>/*.json``).
        num_samples (int): Number of samples.
        version (str): Version folder. Defaults to ``'v1.0-train'``.
        sweeps_per_sample (int): Camera sweeps per sample. Defaults to 2.
        channels (Sequence[str]): Camera channels to draw from.
            Defaults to :data:`CAMERA_CHANNELS`.
        seed (int): Seed of tokens and channel draws; also shifts the
            timestamps, so that roots of different seeds share no file
            name. Defaults to 0.
        write_images (bool): Also write a tiny JPEG for every camera row
            (``samples/`` and ``sweeps/``). Defaults to False.

    Returns:
        dict: ``rows`` (sample_data rows), ``samples``, ``key_frames``
        (camera and lidar), ``key_camera`` (by channel, a dict) and
        ``sweeps`` (by channel, a dict).
    """
    rng = random.Random(seed)
    channels = list(channels)
    table_root = osp.join(root, version)
    os.makedirs(table_root, exist_ok=True)
    log_token = _token(rng)
    sensor_rows, calib = [], {}
    intrinsic = [[1266.4, 0.0, 816.3], [0.0, 1266.4, 491.5], [0.0, 0.0, 1.0]]
    distortion = [-0.35, 0.16, 0.0, 0.0, -0.04]
    for channel in channels + ['LIDAR_TOP']:
        is_camera = channel != 'LIDAR_TOP'
        sensor = dict(
            token=_token(rng),
            channel=channel,
            modality='camera' if is_camera else 'lidar')
        sensor_rows.append(sensor)
        calib[channel] = dict(
            token=_token(rng),
            sensor_token=sensor['token'],
            translation=[1.5, 0.0, 1.5],
            rotation=[0.5, -0.5, 0.5, -0.5],
            camera_intrinsic=intrinsic if is_camera else [],
            camera_distortion=distortion if is_camera else [])
    _write_table(osp.join(table_root, 'sensor.json'), sensor_rows)
    _write_table(
        osp.join(table_root, 'calibrated_sensor.json'), calib.values())
    _write_table(
        osp.join(table_root, 'log.json'), [
            dict(
                token=log_token,
                logfile='n000-2018-01-01-00-00-00+0800',
                vehicle='n000',
                date_captured='2018-01-01',
                location='singapore-onenorth')
        ])

    jpeg = None
    if write_images:
        from PIL import Image
        buf = io.BytesIO()
        Image.new('RGB', (16, 9), (90, 120, 150)).save(buf, 'JPEG')
        jpeg = buf.getvalue()

    key_camera, sweep_counts = Counter(), Counter()
    # seeds a million samples (10 s each) apart: roots of different seeds
    # (e.g. two versions) name different files
    start = 1514764800000000 + seed * 10**13
    with _table_writer(osp.join(table_root, 'sample_data.json')) as data, \
            _table_writer(osp.join(table_root, 'sample.json')) as sample:
        for s in range(num_samples):
            channel = rng.choice(channels)
            t0 = start + s * 10_000_000
            sample_token = _token(rng)
            cam = []
            for k in range(-(sweeps_per_sample // 2),
                           sweeps_per_sample - sweeps_per_sample // 2 + 1):
                is_key = k == 0
                ts = t0 + k * 500_000
                folder = 'samples' if is_key else 'sweeps'
                filename = (f'{folder}/{channel}/n000-2018-01-01-00-00-00'
                            f'+0800__{channel}__{ts}.jpg')
                cam.append(
                    dict(
                        token=_token(rng),
                        sample_token=sample_token,
                        ego_pose_token=_token(rng),
                        calibrated_sensor_token=calib[channel]['token'],
                        filename=filename,
                        fileformat='jpg',
                        width=1600,
                        height=900,
                        timestamp=ts,
                        is_key_frame=is_key,
                        next='',
                        prev=''))
                if is_key:
                    key_camera[channel] += 1
                else:
                    sweep_counts[channel] += 1
                if jpeg is not None:
                    atomic_write_bytes(
                        osp.join(root, filename), jpeg, fsync=False)
            for a, b in zip(cam, cam[1:]):
                a['next'], b['prev'] = b['token'], a['token']
            lidar = dict(
                token=_token(rng),
                sample_token=sample_token,
                ego_pose_token=_token(rng),
                calibrated_sensor_token=calib['LIDAR_TOP']['token'],
                filename=(f'samples/LIDAR_TOP/n000-2018-01-01-00-00-00'
                          f'+0800__LIDAR_TOP__{t0 + 3000}.pcd.bin'),
                fileformat='pcd',
                width=0,
                height=0,
                timestamp=t0 + 3000,
                is_key_frame=True,
                next='',
                prev='')
            for row in cam + [lidar]:
                data.write(row)
            sample.write(
                dict(
                    token=sample_token,
                    timestamp=t0,
                    log_token=log_token,
                    key_camera_token=cam[sweeps_per_sample // 2]['token'],
                    key_lidar_token=lidar['token']))
    return dict(
        rows=data.count,
        samples=num_samples,
        key_frames=2 * num_samples,
        key_camera=dict(key_camera),
        sweeps=dict(sweep_counts))
