"""Check a COCO detection annotation file (and its images) before training.

Finds what mmdet's ``CocoDataset`` does not check: duplicate ids, unknown
image or category ids, empty boxes, boxes outside their image, boxes that
mmdet would drop silently, missing or unreadable images, image sizes that
differ from the JSON. Exits with status 1 when it finds an error. The logic
lives in :mod:`ssdet.data.coco_check`.

Example::

    python tools/analysis/check_dataset.py \\
        data/synthetic/annotations/train.json \\
        --img-root data/synthetic/images
"""
import argparse
import sys

from ssdet.data.coco_check import check_coco


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Check a COCO detection JSON (and its images)')
    parser.add_argument('ann_file', help='COCO JSON, e.g. '
                        'data/kitti/annotations/train.json')
    parser.add_argument(
        '--img-root',
        help='folder that file_name is relative to (data_root + '
        'data_prefix.img in the config); also checks the image files')
    parser.add_argument(
        '--max-problems',
        type=int,
        default=50,
        help='problems listed (all are counted; default: 50)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        report = check_coco(args.ann_file, args.img_root, args.max_problems)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f'error: {e}')
    print(report.format())
    if not report.ok:
        print(
            f'error: {args.ann_file} has errors (listed above); fix them '
            'before training', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
