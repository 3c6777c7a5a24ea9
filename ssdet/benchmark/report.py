"""What a benchmark reports: one row a measured side, the Markdown table of
the rows, the lines printed under it, and the JSON record."""
from typing import Dict, List, Optional

from ..io import atomic_write_json, refuse_overwrite
from ..tables import markdown_table
from .timing import PeakMemory, Series, paired_ratio

#: The columns of :func:`format_table`.
TABLE_COLUMNS = ('benchmark', 'name', 'median', 'windows min-max', 'ms/item',
                 'peak MiB', 'ratio vs reference')


def result_rows(group: str,
                series: Dict[str, Series],
                unit: str,
                reference: Optional[str],
                memory: Optional[PeakMemory],
                labels: Optional[Dict[str, dict]] = None) -> List[dict]:
    """One row a side: median and windows, peak memory, and the paired
    ratio against ``reference`` (measured alternately with it).

    Args:
        group (str): The benchmark (``swav``, ``nms`` ...).
        series (dict): Side name -> its timed windows.
        unit (str): What a rate counts, e.g. ``'images/s'``.
        reference (str, optional): The side the others are divided by.
        memory (PeakMemory, optional): How peak memory was measured.
        labels (dict, optional): Side name -> extra fields of its row.

    Returns:
        list[dict]: The rows, in the order of ``series``.
    """
    rows = []
    for name, s in series.items():
        row = dict(
            group=group,
            name=name,
            unit=unit,
            median=s.median_rate,
            windows=s.rates,
            items_per_window=s.items_per_window,
            ms_per_item=1000.0 / s.median_rate,
            peak_mem_mb=s.max_peak_mb,
            mem_method=memory.method if memory is not None else None,
            ratio=None,
            reference=None)
        if reference is not None and name != reference:
            row.update(ratio=paired_ratio(s, series[reference]),
                       reference=reference)
        row.update((labels or {}).get(name, {}))
        rows.append(row)
    return rows


def format_table(rows: List[dict]) -> str:
    """The Markdown summary table of a benchmark's rows."""
    table = []
    for row in rows:
        ratio = row.get('ratio')
        peak = row.get('peak_mem_mb')
        table.append(
            dict(
                zip(TABLE_COLUMNS, (
                    row['group'],
                    row['name'],
                    f'{row["median"]:.4g} {row["unit"]}',
                    f'{min(row["windows"]):.4g}-{max(row["windows"]):.4g}',
                    f'{row["ms_per_item"]:.4g}',
                    None if peak is None else f'{peak:.0f}',
                    '' if ratio is None else
                    f'{ratio["median"]:.3f} ({ratio["min"]:.3f}-'
                    f'{ratio["max"]:.3f}) vs {row["reference"]}',
                ))))
    return markdown_table(table, TABLE_COLUMNS)


def summary(record: dict) -> str:
    """The table and the lines under it: notes, machine, FLOPs and MFU."""
    machine = record['machine']
    lines = [format_table(record['results'])]
    lines += [f'- {note}' for note in record['notes']]
    lines.append(
        f'- machine: {machine["cpu"]}, {machine["cpu_cores"]} cores, '
        f'torch {machine["torch"]} ({machine["torch_threads"]} threads), '
        f'load average (1, 5, 15 min) {machine["load_avg_at_start"]} at the '
        f'start, {machine.get("load_avg_1_5_15")} at the end' +
        (f', {machine["gpu"]}' if machine.get('gpu') else ''))
    for row in record['results']:
        if row.get('mfu') is not None:
            lines.append(f'- {row["name"]}: {row["gflop_per_image"]:.1f} '
                         f'GFLOP per image, MFU {100 * row["mfu"]:.1f} %')
        elif row.get('gflop_per_image') is not None:
            lines.append(f'- {row["name"]}: {row["gflop_per_image"]:.2f} '
                         'GFLOP per image')
    return '\n'.join(lines)


def write_json(path: str, record: dict, force: bool = False) -> None:
    """Write ``record`` atomically; an existing file needs ``force``."""
    refuse_overwrite([path], force)
    atomic_write_json(path, record, indent=2)
