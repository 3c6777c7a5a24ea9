"""Convert the NYU final-project YAML labels to COCO JSON.

Example:
    python tools/dataset_converters/nyu2coco.py data/nyu/labeled_data \\
        --out data/nyu/annotations

reads ``training/{images,labels}`` (and ``validation/`` when present) and
writes ``train.json`` (and ``val.json``). ``file_name`` is relative to the
NYU root, so configs use it as ``data_root`` with an empty image prefix.
Classes come from ``--classes``, else from
``configs/_base_/datasets/nyu_classes.txt`` (the course's order).
"""
import argparse
import logging
import os.path as osp
import sys

from ssdet.data.nyu import (SPLITS, NYULabelError, coco_summary,
                            collect_class_names, convert_split, list_split,
                            load_class_names)
from ssdet.io import atomic_write_json, refuse_overwrite
from ssdet.tables import text_table

REPO_ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')

DEFAULT_CLASSES = osp.normpath(
    osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'nyu_classes.txt'))
logger = logging.getLogger('nyu2coco')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert NYU final-project YAML labels to COCO JSON')
    parser.add_argument(
        'root', help='NYU labeled root (holds training/ and validation/)')
    parser.add_argument(
        '--out', required=True, help='folder for train.json and val.json')
    parser.add_argument(
        '--classes',
        help='class list, one name per line, in id order (default: '
        'configs/_base_/datasets/nyu_classes.txt)')
    parser.add_argument(
        '--force', action='store_true', help='overwrite existing files')
    parser.add_argument(
        '--skip-invalid',
        action='store_true',
        help='skip (count, warn) images with a bad label or image file '
        'instead of stopping')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')
    from tqdm import tqdm

    splits = [(stem, d) for stem, d in SPLITS
              if osp.isdir(osp.join(args.root, d))]
    if not any(d == 'training' for _, d in splits):
        raise SystemExit(
            f'error: {osp.join(args.root, "training")} not found; ROOT must '
            f'hold training/images/<n>.JPEG and training/labels/<n>.yml')
    outputs = {stem: osp.join(args.out, f'{stem}.json') for stem, _ in splits}
    try:
        refuse_overwrite(outputs.values(), args.force)
    except FileExistsError as exc:
        raise SystemExit(f'error: {exc}')

    try:
        if args.classes:
            class_names = load_class_names(args.classes)
        elif osp.isfile(DEFAULT_CLASSES):
            class_names = load_class_names(DEFAULT_CLASSES)
        else:
            class_names = collect_class_names(args.root,
                                              [d for _, d in splits])
            logger.warning(
                'no class list (%s is absent, no --classes): using the %d '
                'classes found in the labels, sorted; category ids depend '
                'on the data', DEFAULT_CLASSES, len(class_names))

        results = {}
        for stem, split_dir in splits:
            items = list_split(args.root, split_dir)
            with tqdm(total=len(items), desc=split_dir, unit='img') as bar:
                results[stem] = convert_split(
                    args.root,
                    split_dir,
                    class_names,
                    skip_invalid=args.skip_invalid,
                    on_image=bar.update)
    except (NYULabelError, FileNotFoundError) as exc:
        raise SystemExit(f'error: {exc}; nothing written')

    for stem, (coco, _) in results.items():
        atomic_write_json(outputs[stem], coco)

    rows, per_class = [], None
    for stem, (coco, skipped) in results.items():
        info = coco_summary(coco)
        rows.append(
            [stem, info['images'], info['boxes'],
             len(skipped), outputs[stem]])
        per_class = (
            info['per_class'] if per_class is None else per_class +
            info['per_class'])
    print()
    print(text_table(['split', 'images', 'boxes', 'skipped', 'file'], rows))
    print(f'\n{len(class_names)} classes; most frequent:')
    top = per_class.most_common(10)
    print(text_table(['class', 'boxes'], [list(t) for t in top]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
