"""Convert KITTI object labels (``training/label_2``) to COCO JSON.

Writes ``OUT_DIR/train.json`` and ``OUT_DIR/val.json`` (``file_name``
relative to ``training/image_2``), split by a seeded shuffle of image ids.
DontCare regions become ignore regions (``iscrowd=1``); truncation,
occlusion and the original class are kept for the KITTI metric. Image sizes
are read from the images (checked to be complete); a malformed line, a box
outside its image or a missing or unreadable image stops the conversion
with the file (and line) named, unless ``--skip-bad``. The logic lives in
:mod:`ssdet.data.kitti`.

Example::

    python tools/dataset_converters/kitti2coco.py data/kitti \\
        --out data/kitti/annotations
"""
import argparse
import sys

from ssdet.data.kitti import (KITTI_CLASSES, KittiFormatError, convert,
                              format_summary)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert KITTI 2D object labels to COCO JSON')
    parser.add_argument(
        'kitti_root',
        help='folder holding training/label_2 and training/image_2')
    parser.add_argument(
        '--out', required=True, help='output folder of train.json/val.json')
    parser.add_argument(
        '--val-ratio',
        type=float,
        default=0.2,
        help='fraction of images in val.json (default: 0.2)')
    parser.add_argument(
        '--seed', type=int, default=0, help='split seed (default: 0)')
    parser.add_argument(
        '--classes',
        nargs='+',
        default=list(KITTI_CLASSES),
        help='categories in order; other types (e.g. Misc) are dropped and '
        'counted (default: %(default)s)')
    parser.add_argument(
        '--merge-person',
        action='store_true',
        help='map Person_sitting to Pedestrian')
    parser.add_argument(
        '--force', action='store_true', help='overwrite existing outputs')
    parser.add_argument(
        '--skip-bad',
        action='store_true',
        help='skip and count malformed label lines, boxes outside their '
        'image and frames whose image is missing or unreadable, instead of '
        'failing')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from tqdm import tqdm

    def progress(items):
        return tqdm(items, desc='label files', unit='file')

    try:
        summary = convert(
            args.kitti_root,
            args.out,
            val_ratio=args.val_ratio,
            seed=args.seed,
            classes=args.classes,
            merge_person=args.merge_person,
            force=args.force,
            skip_bad=args.skip_bad,
            progress=progress)
    except (KittiFormatError, FileExistsError, FileNotFoundError,
            ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        raise SystemExit(1)
    print(format_summary(summary))
    for split, path in summary['files'].items():
        print(f'{split}: {path}')
    return summary


if __name__ == '__main__':
    main()
