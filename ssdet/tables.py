"""Turning metric dicts into the tables researchers paste into reports."""
import json
from typing import Dict, List, Mapping, Optional, Sequence

#: COCO bbox metrics in the order of the reports' tables.
COCO_COLUMNS = (('AP', 'coco/bbox_mAP'), ('AP50', 'coco/bbox_mAP_50'),
                ('AP75', 'coco/bbox_mAP_75'), ('APs', 'coco/bbox_mAP_s'),
                ('APm', 'coco/bbox_mAP_m'), ('APl', 'coco/bbox_mAP_l'))


def read_metrics(path: str) -> Dict[str, float]:
    """Read a ``tools/test.py --metrics-out`` file."""
    with open(path) as f:
        record = json.load(f)
    return record.get('metrics', record)


def coco_row(metrics: Mapping[str, float]) -> Dict[str, Optional[float]]:
    """COCO metrics of one run in percent (None where absent)."""
    row: Dict[str, Optional[float]] = {}
    for name, key in COCO_COLUMNS:
        value = metrics.get(key)
        row[name] = None if value is None else 100.0 * float(value)
    return row


def markdown_table(rows: Sequence[Mapping[str, object]],
                   columns: Sequence[str],
                   digits: int = 1) -> str:
    """A Markdown table; floats with ``digits`` decimals, None as ``n/a``."""

    def cell(value):
        if value is None:
            return 'n/a'
        if isinstance(value, float):
            return f'{value:.{digits}f}'
        return str(value)

    lines: List[str] = [
        '| ' + ' | '.join(columns) + ' |',
        '|' + '|'.join('---' if i == 0 else '---:'
                       for i in range(len(columns))) + '|'
    ]
    for row in rows:
        lines.append('| ' + ' | '.join(cell(row.get(c)) for c in columns) +
                     ' |')
    return '\n'.join(lines)


def text_table(header: Sequence[object],
               rows: Sequence[Sequence[object]]) -> str:
    """A left-aligned plain-text table (the converters' summaries)."""
    cells = [[str(c) for c in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [
        '  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
        for r in cells
    ]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)
