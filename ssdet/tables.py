"""The toolkit's one table helper, on terminaltables.

:func:`markdown_table` renders the tables researchers paste into reports
(GitHub-flavoured Markdown), :func:`text_table` the plain-text summaries the
tools print. In both, a column whose cells are all numbers is right-aligned.
:func:`coco_row` and :func:`read_metrics` turn ``tools/test.py
--metrics-out`` files into rows.
"""
import json
import numbers
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Type

from terminaltables import AsciiTable, GithubFlavoredMarkdownTable
from terminaltables.base_table import BaseTable

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


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _render(table_cls: Type[BaseTable], header: Optional[Sequence[object]],
            rows: Sequence[Sequence[object]],
            cell: Callable[[object], str]) -> BaseTable:
    """A terminaltables table of ``rows`` (and ``header``), each body value
    shown as ``cell(value)``; a column whose values are numbers (or None,
    at least one a number) is right-aligned."""
    body = [list(row) for row in rows]
    data: List[List[str]] = [[cell(c) for c in row] for row in body]
    if header is not None:
        data.insert(0, [str(c) for c in header])
    table = table_cls(data)
    width = max((len(row) for row in data), default=0)
    for i in range(width):
        column = [row[i] for row in body if i < len(row)]
        if any(_is_number(c) for c in column) and all(
                c is None or _is_number(c) for c in column):
            table.justify_columns[i] = 'right'
    return table


def markdown_table(rows: Sequence[Mapping[str, object]],
                   columns: Sequence[str],
                   digits: int = 1) -> str:
    """A GitHub-flavoured Markdown table.

    Args:
        rows (Sequence[Mapping]): One mapping per row, column -> value.
        columns (Sequence[str]): The columns, in order (the header).
        digits (int): Decimals of float cells. Defaults to 1.

    Returns:
        str: The table; None (or an absent key) is shown as ``n/a``.
    """

    def cell(value: object) -> str:
        if value is None:
            return 'n/a'
        if isinstance(value, float):
            return f'{value:.{digits}f}'
        return str(value)

    body = [[row.get(c) for c in columns] for row in rows]
    return _render(GithubFlavoredMarkdownTable, columns, body, cell).table


def text_table(header: Optional[Sequence[object]],
               rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: the tools' printed summaries.

    Columns are separated by blanks, the header (if any) is underlined, and
    lines carry no trailing blanks.

    Args:
        header (Sequence, optional): Column names; None for a table without
            a header (e.g. name/value pairs).
        rows (Sequence[Sequence]): The cells; ``str()`` of each is shown,
            ``-`` for None.

    Returns:
        str: The table.
    """
    table = _render(AsciiTable, header, rows,
                    lambda c: '-' if c is None else str(c))
    table.outer_border = False
    table.inner_column_border = False
    table.inner_heading_row_border = header is not None
    # without outer borders each line still starts with the first cell's
    # padding and the rule spans every padding: trim both to the text
    lines = [line[1:].rstrip() for line in table.table.splitlines()]
    if header is not None and rows:
        lines[1] = '-' * max(len(line) for line in lines[:1] + lines[2:])
    return '\n'.join(lines)
