"""The command line of ``tools/analysis/benchmark.py``: one subcommand a
benchmark (:data:`SUBCOMMANDS`), the options they share and their own."""
import argparse
from typing import Optional, Sequence

from mmengine.config import DictAction

from .runners import DEFAULT_CONFIGS, BenchmarkError, default_config

#: Subcommand -> (help, default --iters, --warmup, --windows).
SUBCOMMANDS = {
    'swav': ('SwAV training steps on a fixed batch', 5, 3, 5),
    'mocov2': ('MoCo v2 training steps on a fixed batch', 5, 3, 5),
    'faster-rcnn': ('Faster R-CNN training steps on a fixed batch', 5, 3, 5),
    'pipeline': ('train data pipeline alone, per worker', 8, 4, 5),
    'ops': ('NMS / RoIAlign: provider and mmcv.ops vs torchvision', 20, 5, 7),
    'scaling': ('nuImages extractor / KITTI converter at N x input', 1, 1, 3),
}
TRAIN = ('swav', 'mocov2', 'faster-rcnn')


def _add_common(p: argparse.ArgumentParser, iters: int, warmup: int,
                windows: int) -> None:
    p.add_argument('--iters', type=int, default=iters,
                   help='iterations per timed window (default: %(default)s)')
    p.add_argument('--warmup', type=int, default=warmup,
                   help='untimed iterations of each side first (default: '
                   '%(default)s)')
    p.add_argument('--windows', type=int, default=windows,
                   help='timed windows of each side (default: %(default)s)')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'],
                   help='device (default: cpu)')
    p.add_argument('--json', metavar='FILE',
                   help='also write the results as JSON')
    p.add_argument('--force', action='store_true',
                   help='overwrite an existing --json')
    p.add_argument('--threads', type=int,
                   help='torch.set_num_threads (default: torch\'s choice; on '
                   'a loaded machine 1 avoids the oversubscription of OpenMP '
                   'threads)')
    p.add_argument('--quiet', action='store_true', help='no progress bar')


def _add_configs(p: argparse.ArgumentParser, kind: str) -> None:
    p.add_argument('--config', default=DEFAULT_CONFIGS.get(kind),
                   help='our config (default: the first match of '
                   '%(default)s)')
    p.add_argument('--baseline',
                   help='a reference config measured alternately in the same '
                   'process (a path, or an upstream one as '
                   'mmselfsup::selfsup/...)')
    for flag, which in (('--cfg-options', '--config'),
                        ('--baseline-cfg-options', '--baseline')):
        p.add_argument(flag, nargs='+', default={}, action=DictAction,
                       help=f'override settings of {which}, key=value')


def _add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument('--batch-size', type=int,
                   help='images per step for both configs (default: '
                   '--config\'s)')
    p.add_argument('--image-size', type=int, nargs=2, default=[192, 256],
                   metavar=('H', 'W'),
                   help='size of the generated images the pipeline of '
                   '--config turns into the batch (default: 192 256)')
    p.add_argument('--amp', action='store_true',
                   help='AmpOptimWrapper (autocast; CUDA only)')
    p.add_argument('--amp-dtype', default='bfloat16',
                   choices=['bfloat16', 'float16'],
                   help='autocast dtype with --amp; float16 uses dynamic '
                   'loss scaling (default: bfloat16)')
    p.add_argument('--channels-last', action='store_true',
                   help='model in channels_last memory format')
    p.add_argument('--cudnn-benchmark', action='store_true',
                   help='torch.backends.cudnn.benchmark = True')
    p.add_argument('--seed', type=int, default=0,
                   help='randomness.seed of both configs, so both start from '
                   'comparable weights (default: %(default)s)')
    p.add_argument('--count-flops', action='store_true',
                   help='count the FLOPs of a step (torch.utils.flop_counter)')
    p.add_argument('--peak-tflops', type=float,
                   help='peak TFLOP/s of the device in the training dtype, '
                   'for MFU (implies --count-flops), e.g. 989 for an H100 '
                   'SXM in bf16')


def _add_pipeline(p: argparse.ArgumentParser) -> None:
    p.add_argument('--num-images', type=int, default=16,
                   help='distinct images, cycled (default: %(default)s; '
                   'with --images: the first N, 0 for all)')
    p.add_argument('--image-size', type=int, nargs=2, default=[375, 500],
                   metavar=('H', 'W'),
                   help='generated image size (default: 375 500, '
                   'ImageNet-like)')
    p.add_argument('--images', metavar='DIR',
                   help='time real images, the files of DIR (sorted), '
                   'instead of generated ones')
    p.add_argument('--image-format', choices=['.jpg', '.png'],
                   help='format of the generated images (default: .jpg); '
                   'with --images, re-encode them to it (default: the files '
                   'as they are)')
    p.add_argument('--jpeg-quality', type=int, default=90,
                   help='quality of generated and re-encoded JPEGs (default: '
                   '%(default)s)')
    p.add_argument('--batch-size', type=int, default=64,
                   help='batch of a config whose data preprocessor decodes '
                   '(MultiViewGPUPreprocessor), timed on --device (default: '
                   '%(default)s)')
    p.add_argument('--no-torchvision', action='store_true',
                   help='skip the facebookresearch/swav torchvision reference '
                   'of a multi-crop pipeline')


def _add_ops(p: argparse.ArgumentParser) -> None:
    p.add_argument('--num-boxes', type=int, default=2000)
    p.add_argument('--iou-threshold', type=float, default=0.7)
    p.add_argument('--num-rois', type=int, default=512)
    p.add_argument('--feat-size', type=int, nargs=2, default=[48, 64],
                   metavar=('H', 'W'))
    p.add_argument('--channels', type=int, default=256)


def _add_scaling(p: argparse.ArgumentParser) -> None:
    p.add_argument('--which', nargs='+', default=['nuimages', 'kitti'],
                   choices=['nuimages', 'kitti'])
    p.add_argument('--scales', type=int, nargs='+', default=[1, 4, 16],
                   help='input sizes as multiples of the base (default: 1 4 '
                   '16)')
    p.add_argument('--nuimages-samples', type=int, default=1000,
                   help='nuImages samples at 1x (4 sample_data rows each; '
                   'default: %(default)s)')
    p.add_argument('--kitti-frames', type=int, default=100,
                   help='KITTI frames at 1x (8 label lines each; default: '
                   '%(default)s)')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the arguments of ``tools/analysis/benchmark.py``; a default
    ``--config`` pattern is resolved to its first match."""
    parser = argparse.ArgumentParser(
        description='Throughput benchmarks (images/s, peak memory, ratios '
        'against a reference measured alternately)')
    sub = parser.add_subparsers(dest='command', required=True)
    for name, (help_text, *timing) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name in TRAIN or name == 'pipeline':
            _add_configs(p, name)
        _add_common(p, *timing)
        if name in TRAIN:
            _add_train(p)
        else:
            dict(pipeline=_add_pipeline, ops=_add_ops,
                 scaling=_add_scaling)[name](p)
    args = parser.parse_args(argv)
    if args.iters < 1 or args.windows < 1 or args.warmup < 0:
        parser.error('--iters and --windows must be >= 1, --warmup >= 0')
    if getattr(args, 'config', None) in DEFAULT_CONFIGS.values():
        try:
            args.config = default_config(args.config)
        except BenchmarkError as err:
            parser.error(str(err))
    return args
