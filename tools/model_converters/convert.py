"""Convert PyContrast / SwAV / torchvision / mmselfsup ResNet checkpoints.

For MMDetection (``backbone.*`` only)::

    python tools/model_converters/convert.py --src-format pycontrast \\
        InfoMin_800.pth infomin_r50_mmdet.pth
    # then: model.backbone.init_cfg=dict(type='Pretrained',
    #     prefix='backbone.', checkpoint='infomin_r50_mmdet.pth')

For continuing MoCo training in mmselfsup (both encoders, ``load_from``)::

    python tools/model_converters/convert.py --src-format pycontrast \\
        --target mmselfsup-moco InfoMin_800.pth infomin_r50_moco.pth

The logic lives in :mod:`ssdet.checkpoints`; torch and ``custom_modules``
are imported after the arguments are parsed, so ``--help`` is immediate.
"""
import argparse
import sys

from ssdet.checkpoints.formats import ENCODERS, FORMATS, TARGETS
from ssdet.tables import text_table


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a ResNet checkpoint (PyContrast, SwAV, '
        'torchvision, mmselfsup) for MMDetection or mmselfsup MoCo.')
    parser.add_argument('src', help='source checkpoint')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument(
        '--src-format',
        choices=FORMATS,
        default=None,
        help='layout of SRC; detected (and checked) when left out')
    parser.add_argument(
        '--target',
        choices=TARGETS,
        default='mmdet',
        help='mmdet: backbone.* only (default); mmselfsup-moco: the state '
        'dict of mmselfsup\'s MoCo, both encoders; mmselfsup-jigsaw-moco: '
        'the same plus the jigsaw neck of InfoMinJigsawMoCo')
    parser.add_argument(
        '--encoder',
        choices=ENCODERS,
        default='online',
        help='for --target mmdet: the online (query) or the momentum '
        'encoder of a MoCo-style source (default: online)')
    parser.add_argument(
        '--keep-queue',
        action='store_true',
        help='for the MoCo targets: keep the source\'s negative-key '
        'queue (default: a fresh queue, as further training on new data '
        'needs)')
    parser.add_argument(
        '--force', action='store_true', help='overwrite an existing DST')
    return parser.parse_args(argv)


def summary_table(summary: dict) -> str:
    """Two-column text table of what :func:`convert` did."""
    pre = summary['meta']['pretrain_cfg']
    rows = [
        ('source', f'{summary["src"]} ({summary["src_format"]})'),
        ('depth', f'ResNet-{summary["depth"]}'),
        ('source tensors', str(summary['source_tensors'])),
        ('mapped', ', '.join(f'{k} encoder: {n}'
                             for k, n in summary['mapped'].items())),
        ('BN counters added', str(summary['bn_counters_added'])),
        ('dropped', ', '.join(f'{k} ({n})'
                              for k, n in summary['dropped'].items()) or '-'),
        ('not weights', ', '.join(summary['unused_entries']) or '-'),
    ]
    for key in ('neck', 'momentum', 'queue', 'jigsaw'):
        if summary[key]:
            rows.append((key, summary[key]))
    rows += [
        ('pretrain_cfg', f'{pre["channel_order"]}, mean={pre["mean"]}, '
         f'std={pre["std"]}, stem {pre["stem"]}'),
        ('written', f'{summary["dst"]} ({summary["target"]}, '
         f'{summary["written"]} tensors)'),
    ]
    return text_table(None, rows)


def main(argv=None) -> int:
    args = parse_args(argv)
    from custom_modules.compat.checkpoint import UnsafeCheckpointError
    from ssdet.checkpoints import CheckpointFormatError, convert
    try:
        summary = convert(
            args.src,
            args.dst,
            src_format=args.src_format,
            target=args.target,
            force=args.force,
            encoder=args.encoder,
            keep_queue=args.keep_queue)
    except (CheckpointFormatError, UnsafeCheckpointError, FileExistsError,
            FileNotFoundError, ValueError) as e:
        print(f'convert.py: error: {e}', file=sys.stderr)
        return 1
    print(summary_table(summary))
    return 0


if __name__ == '__main__':
    sys.exit(main())
