"""Reading mmengine training logs of a work dir.

mmengine's ``LoggerHook`` appends one JSON object per line to
``WORK_DIR/<timestamp>/vis_data/scalars.json``: train lines carry ``iter``,
``epoch``, ``lr`` and the losses (``step`` = iteration); validation lines
carry the metrics (``coco/bbox_mAP_50``, ``kitti/mAP``, ...) and ``step`` =
epoch (or iteration for iteration-based loops), without ``iter``. A resumed
run adds a new timestamp folder; the folders are read in time order and a
later line replaces an earlier one of the same step.
"""
import glob
import json
import os.path as osp
import re
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple


class LogFormatError(ValueError):
    """A scalars.json line is not JSON (and it is not the last line)."""


@dataclass
class TrainingLog:
    """Train and validation records of one work dir, in step order."""
    work_dir: str
    train: List[dict] = field(default_factory=list)
    val: List[dict] = field(default_factory=list)
    skipped: int = 0

    def series(self, key: str, val: bool = False,
               x: str = 'step') -> Tuple[List[float], List[float]]:
        """``(xs, ys)`` of ``key`` (records without it are left out)."""
        xs, ys = [], []
        for record in self.val if val else self.train:
            if key in record and x in record:
                try:
                    y = float(record[key])
                except (TypeError, ValueError):
                    continue
                xs.append(float(record[x]))
                ys.append(y)
        return xs, ys

    def epoch_start_iter(self, epoch: int) -> Optional[int]:
        """The iteration at which the 0-based ``epoch`` starts: the last
        logged iteration of the 1-based epochs up to ``epoch`` (exact when
        the logging interval divides the epoch). None if not logged."""
        iters = [
            int(r['iter']) for r in self.train
            if 'iter' in r and 'epoch' in r and int(r['epoch']) <= epoch
        ]
        return max(iters) if iters else None


def scalar_files(work_dir: str) -> List[str]:
    """``WORK_DIR/<timestamp>/vis_data/scalars.json`` in time order."""
    return sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))


def read_scalars(path: str, skip_bad: bool = False) -> Tuple[List[dict], int]:
    """The records of one ``scalars.json``.

    A last line that is not JSON (a run killed while writing) is skipped
    with a warning. Any other bad line is an error naming the file and line,
    unless ``skip_bad``: then it is skipped, counted and warned about.

    Returns:
        tuple[list[dict], int]: The records and the number of skipped lines.
    """
    with open(path) as f:
        lines = f.read().split('\n')
    while lines and not lines[-1].strip():
        lines.pop()
    records, skipped = [], 0
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError('not a JSON object')
        except ValueError as e:
            if lineno == len(lines) or skip_bad:
                skipped += 1
                warnings.warn(f'{path}:{lineno}: skipped a line that is not '
                              f'a JSON object ({e})')
                continue
            raise LogFormatError(
                f'{path}:{lineno}: not a JSON object ({e}); fix or delete '
                'the line, or pass --skip-bad-lines') from None
        records.append(record)
    return records, skipped


def load_log(work_dir: str, skip_bad: bool = False) -> TrainingLog:
    """All train and validation records of ``work_dir``.

    Raises:
        FileNotFoundError: No ``*/vis_data/scalars.json`` in ``work_dir``.
    """
    files = scalar_files(work_dir)
    if not files:
        raise FileNotFoundError(
            f'no <timestamp>/vis_data/scalars.json in {work_dir} (is it the '
            'work dir of a training run?)')
    train: Dict[float, dict] = {}
    val: Dict[float, dict] = {}
    log = TrainingLog(work_dir)
    for path in files:
        records, skipped = read_scalars(path, skip_bad)
        log.skipped += skipped
        for record in records:
            step = record.get('step', record.get('iter'))
            if step is None:
                continue
            target = train if 'iter' in record else val
            target[float(step)] = record
    log.train = [train[k] for k in sorted(train)]
    log.val = [val[k] for k in sorted(val)]
    return log


QUEUE_RE = re.compile(r'SwAV queue started .*\(epoch (\d+), iter (\d+)\)')


def swav_queue_start(work_dir: str) -> Optional[Tuple[str, int]]:
    """When the SwAV queue started, from the run's logs.

    ``SwAVQueueHook`` logs ``SwAV queue started ... (epoch E, iter I)``; the
    earliest such line of the text logs gives ``('iter', I)``. Without it,
    ``epoch_queue_starts`` of the dumped config gives ``('epoch', E)``.

    Returns:
        tuple[str, int], optional: ``('iter', n)`` or ``('epoch', n)``;
        None when neither is found.
    """
    starts = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', '*.log'))):
        with open(path, errors='replace') as f:
            for line in f:
                match = QUEUE_RE.search(line)
                if match:
                    starts.append(int(match.group(2)))
    if starts:
        return 'iter', min(starts)
    value = config_value(work_dir, 'epoch_queue_starts')
    return ('epoch', int(value)) if value is not None else None


def config_value(work_dir: str, name: str) -> Optional[float]:
    """A numeric ``name=VALUE`` from the config mmengine dumped with the run
    (``<timestamp>/vis_data/config.py``, newest first)."""
    pattern = re.compile(rf'\b{re.escape(name)}\s*=\s*([0-9.eE+-]+)')
    for path in sorted(
            glob.glob(osp.join(work_dir, '*', 'vis_data', 'config.py')),
            reverse=True):
        with open(path, errors='replace') as f:
            match = pattern.search(f.read())
        if match:
            try:
                return float(match.group(1))
            except ValueError:
                return None
    return None
