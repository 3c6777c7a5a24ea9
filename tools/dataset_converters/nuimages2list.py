"""Write the list of nuImages camera images for self-supervised pretraining.

Example:
    python tools/dataset_converters/nuimages2list.py data/nuimages \\
        --version v1.0-train --out data/nuimages/train.txt \\
        --subsets 5000 18000 35000 --seed 0

writes ``train.txt`` (every key-frame camera image) and the nested subsets
``train_5000.txt``, ``train_18000.txt``, ``train_35000.txt``. Each line is a
path relative to the nuImages root (``samples/CAM_FRONT/....jpg``). Several
versions make one list, e.g. every key frame of the three splits::

    python tools/dataset_converters/nuimages2list.py data/nuimages \\
        --version v1.0-train v1.0-val v1.0-test --out data/nuimages/all.txt

See ``docs/nuimages.md``.
"""
import argparse
import logging
import os.path as osp
import sys

from ssdet.data.nuimages import (MissingTableError, NuImagesFormatError,
                                 nested_subsets, select_images,
                                 subset_list_path, table_path, write_list)
from ssdet.io import refuse_overwrite
from ssdet.tables import text_table


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='List nuImages camera images (one relative path per '
        'line) and nested random subsets of them')
    parser.add_argument(
        'root',
        help='nuImages root (holds samples/ and '
        'the version folders)')
    parser.add_argument(
        '--version',
        nargs='+',
        default=['v1.0-train'],
        help='table folder(s) under the root; several make one list, e.g. '
        'v1.0-train v1.0-val v1.0-test (default: v1.0-train)')
    parser.add_argument(
        '--channels',
        nargs='+',
        help='sensor channels to keep, e.g. CAM_FRONT CAM_BACK '
        '(default: every camera)')
    parser.add_argument(
        '--sweeps',
        action='store_true',
        help='also keep the non-key-frame sweeps')
    parser.add_argument(
        '--out', required=True, help='list file to write, e.g. train.txt')
    parser.add_argument(
        '--subsets',
        nargs='+',
        type=int,
        default=[],
        help='nested subset sizes; N is written to <out stem>_N<out ext>')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the subsets')
    parser.add_argument(
        '--force', action='store_true', help='overwrite existing lists')
    parser.add_argument(
        '--check-files',
        action=argparse.BooleanOptionalAction,
        default=True,
        help='look for every image under the root and skip (count, warn) '
        'missing ones (default: on)')
    parser.add_argument(
        '--strict',
        action='store_true',
        help='with --check-files, fail instead of skipping missing images')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')
    from tqdm import tqdm

    outputs = [args.out] + [
        subset_list_path(args.out, n) for n in sorted(set(args.subsets))
    ]
    try:
        refuse_overwrite(outputs, args.force)
    except FileExistsError as exc:
        raise SystemExit(f'error: {exc}')

    sd_files = [table_path(args.root, v, 'sample_data') for v in args.version]
    total = sum(osp.getsize(f) for f in sd_files) if all(
        osp.isfile(f) for f in sd_files) else None
    with tqdm(
            total=total, unit='B', unit_scale=True,
            desc='sample_data.json') as bar:
        try:
            selection = select_images(
                args.root,
                version=args.version,
                channels=args.channels,
                sweeps=args.sweeps,
                check_files=args.check_files,
                strict=args.strict,
                on_progress=bar.update)
        except (MissingTableError, NuImagesFormatError, ValueError,
                FileNotFoundError) as exc:
            raise SystemExit(f'error: {exc}')
    if not selection.paths:
        raise SystemExit(
            f'error: no image kept (channels {selection.channels}, sweeps '
            f'{args.sweeps}); nothing written')
    try:
        subsets = nested_subsets(selection.paths, args.subsets, args.seed)
    except ValueError as exc:
        raise SystemExit(f'error: {exc}; nothing written')

    write_list(args.out, selection.paths)
    for n, paths in subsets.items():
        write_list(subset_list_path(args.out, n), paths)

    print(f'\nversions: {" ".join(selection.versions)}')
    print(f'sample_data rows: {selection.rows}   key frames (all '
          f'sensors): {selection.key_frames}   selected sweeps: '
          f'{selection.selected_sweeps}')
    rows = [[ch, selection.selected[ch], selection.kept_per_channel[ch]]
            for ch in selection.channels]
    rows.append([
        'total',
        sum(selection.selected.values()),
        selection.kept,
    ])
    print(text_table(['channel', 'selected', 'kept'], rows))
    skipped = len(selection.missing)
    print(f'skipped (file missing): {skipped}' if selection.
          checked_files else 'files not checked')
    rows = [[args.out, selection.kept]]
    rows += [[subset_list_path(args.out, n), n] for n in subsets]
    print(text_table(['list', 'images'], rows))
    return 0


if __name__ == '__main__':
    sys.exit(main())
