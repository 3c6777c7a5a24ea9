"""Generate the synthetic detection set, the default data of ``make demo``.

Example:
    python tools/dataset_converters/make_synthetic.py --out data/synthetic \\
        --seed 0 --num-unlabeled 2000 --num-train 200 --num-val 300 \\
        --num-test 300 --size 192 256

writes ``annotations/{train,val,test}.json`` (COCO),
``images/{train,val,test}/`` and the unlabeled pool ``unlabeled/`` (no
labels), deterministically for a seed.
Read it with ``configs/_base_/datasets/synthetic_detection.py``. Classes,
layout and the occlusion rule are described in :mod:`ssdet.data.synthetic`.
"""
import argparse
import sys

from tqdm import tqdm

from ssdet.data.synthetic import (DEFAULT_IMAGE_SIZE, DEFAULT_SPLIT_SIZES,
                                  format_summary, generate)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate the synthetic shapes-and-textures detection '
        'set (COCO train/val/test + an unlabeled pool)')
    parser.add_argument(
        '--out', required=True, help='output folder, e.g. data/synthetic')
    parser.add_argument('--seed', type=int, default=0, help='default: 0')
    for split, what in (('unlabeled', 'images in the unlabeled pool'),
                        ('train', 'labeled training images'),
                        ('val', 'labeled validation images'),
                        ('test', 'labeled held-out test images (0: none)')):
        parser.add_argument(
            f'--num-{split}',
            type=int,
            default=DEFAULT_SPLIT_SIZES[split],
            help=f'{what} (default: %(default)s)')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=list(DEFAULT_IMAGE_SIZE),
        metavar=('H', 'W'),
        help='image height and width (default: %s %s)' % DEFAULT_IMAGE_SIZE)
    parser.add_argument(
        '--force',
        action='store_true',
        help='write into a non-empty output folder (replaces the files of '
        'a previous run)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    bars = {}

    def progress(split, done, total):
        if split not in bars:
            bars[split] = tqdm(total=total, desc=f'{split:>9}', unit='img')
        bars[split].update(1)
        if done == total:
            bars[split].close()

    try:
        summary = generate(
            args.out,
            seed=args.seed,
            num_unlabeled=args.num_unlabeled,
            num_train=args.num_train,
            num_val=args.num_val,
            num_test=args.num_test,
            size=tuple(args.size),
            force=args.force,
            progress=progress)
    except (FileExistsError, ValueError) as e:
        for bar in bars.values():
            bar.close()
        print(f'error: {e}', file=sys.stderr)
        return 1
    h, w = summary['size']
    print(f'\nwrote {args.out} (seed {args.seed}, {h} x {w} px)')
    print(format_summary(summary))
    return 0


if __name__ == '__main__':
    sys.exit(main())
