"""The report of ``tools/demo_kitti.py``: what ran on the real KITTI frames
and what came out.

:func:`kitti_tables` takes the two tables ``KittiMetric`` logged (paper
AP50 per class and mAP; the devkit's Easy / Moderate / Hard R40 and R11)
from the output of ``tools/test.py``; :func:`write_report` writes them,
mmdet's COCO numbers (sizes included), the picture of detections, the
commands and the time of each stage to ``WORK_DIR/results.md``.
"""
import os.path as osp
import shlex
from typing import Mapping, Sequence, Tuple

from ..io import atomic_write_text
from ..tables import COCO_COLUMNS, coco_row, markdown_table
from .demo import machine

#: First and last line of ``KittiMetric``'s logged tables.
TABLES_START = 'KITTI evaluation on '
TABLES_END = 'evaluate_object.cpp semantics'


def kitti_tables(log: str) -> str:
    """The tables of the last KITTI evaluation in a log.

    Args:
        log (str): Output of ``tools/test.py`` (or its log file).

    Returns:
        str: From ``KITTI evaluation on N images`` (without the logger's
        prefix) to the devkit table's note.

    Raises:
        ValueError: The log holds no complete KITTI evaluation.
    """
    lines = log.splitlines()
    starts = [i for i, line in enumerate(lines) if TABLES_START in line]
    if not starts:
        raise ValueError('no KITTI evaluation in the output (is the '
                         'config\'s test_evaluator a KittiMetric?)')
    start = starts[-1]
    end = next((i for i in range(start, len(lines))
                if lines[i].startswith(TABLES_END)), None)
    if end is None:
        raise ValueError('the KITTI evaluation in the output is incomplete')
    first = lines[start][lines[start].index(TABLES_START):]
    return '\n'.join([first] + lines[start + 1:end + 1])


def write_report(out: str,
                 tables: str,
                 metrics: Mapping[str, float],
                 commands: Sequence[Sequence[str]],
                 stages: Sequence[Tuple[str, float]],
                 backbone: str,
                 picture: str,
                 score_thr: float) -> str:
    """Write ``results.md`` of the KITTI demo.

    Args:
        out (str): The Markdown file.
        tables (str): What :func:`kitti_tables` returns.
        metrics (Mapping[str, float]): The ``tools/test.py --metrics-out``
            metrics (``coco/bbox_mAP`` ...).
        commands (Sequence[Sequence[str]]): The commands run, in order.
        stages (Sequence[tuple[str, float]]): Stage name and seconds.
        backbone (str): Where the backbone's weights came from.
        picture (str): The picture of detections (a path beside ``out``).
        score_thr (float): The picture's score threshold.

    Returns:
        str: The report's text.
    """
    # pycocotools gives -1 where no ground truth has that size
    coco = {
        k: None if v is None or v < 0 else v
        for k, v in coco_row(metrics).items()
    }
    coco_table = markdown_table([coco], [name for name, _ in COCO_COLUMNS])
    time_rows = [dict(stage=name, minutes=seconds / 60)
                 for name, seconds in stages]
    time_rows.append(
        dict(stage='total', minutes=sum(s for _, s in stages) / 60))
    text = '\n'.join([
        '# KITTI demo: Faster R-CNN R18-FPN on real frames, on the CPU',
        '',
        'The real path end to end: KITTI labels -> COCO JSON '
        '(DontCare as ignore regions) -> Faster R-CNN at KITTI\'s 1242 x 375 '
        '(the recipe\'s pipeline, ResNet-18) -> both KITTI evaluations and '
        'COCO AP. A few minutes of CPU training: it shows the path working, '
        f'not a good detector. Backbone: {backbone}.',
        '',
        '## KITTI (val split)',
        '',
        '```text',
        tables,
        '```',
        '',
        '## COCO (mmdet CocoMetric, same detections; percent)',
        '',
        coco_table,
        '',
        'n/a: no ground truth of that size in the split.',
        '',
        '## Detections',
        '',
        f'![detections]({osp.basename(picture)})',
        '',
        'Left: ground truth; right: detections scoring at least '
        f'{score_thr:g}.',
        '',
        '## What ran (from the repository root)',
        '',
        '```shell',
        *(' '.join(shlex.quote(str(w)) for w in cmd) for cmd in commands),
        '```',
        '',
        '## Time',
        '',
        markdown_table(time_rows, ['stage', 'minutes']),
        '',
        '## Machine',
        '',
        *(f'- {k}: {v}' for k, v in machine().items()),
        '',
    ])
    atomic_write_text(out, text)
    return text
