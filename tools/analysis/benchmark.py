"""Throughput benchmarks: training steps, data pipelines, ops, converters.

Examples (``docs/benchmarks.md`` has the commands of its tables)::

    B=configs/benchmarks
    # our tiny SwAV against the stock mmselfsup SwAV of the same size
    python tools/analysis/benchmark.py swav --threads 1 \\
        --baseline $B/swav_resnet18_1xb16-mcrop-2-4_mmselfsup-stock.py
    python tools/analysis/benchmark.py faster-rcnn --threads 1 \\
        --config configs/demo/faster-rcnn_r18_fpn_synthetic.py \\
        --baseline $B/faster-rcnn_r18_fpn_1xb4-256x192_mmdet-stock.py
    # the 2 x 224 + 6 x 96 pipeline against facebookresearch/swav's
    python tools/analysis/benchmark.py pipeline
    python tools/analysis/benchmark.py ops
    python tools/analysis/benchmark.py scaling --scales 1 4 16
    # on a GPU
    python tools/analysis/benchmark.py swav \\
        --config configs/swav/r50_4gpu.py --device cuda --amp \\
        --amp-dtype bfloat16 --channels-last --cudnn-benchmark \\
        --peak-tflops 989

Throughput is the median over timed windows after a warm-up; with a
reference (``--baseline``, the torchvision pipeline, torchvision.ops, the 1x
input) the windows alternate (A B, B A, ...) in one process and the ratio is
the median of the per-round ratios, so the load of a shared machine cancels.
``--json FILE`` writes every window, the machine and the command. See
``docs/benchmarks.md``, and ``--help`` after a subcommand for its options.
The benchmarks and this command line live in :mod:`ssdet.benchmark`.
"""
import sys

from ssdet.benchmark.cli import parse_args
from ssdet.benchmark.report import summary, write_json
from ssdet.benchmark.runners import BenchmarkError, run
from ssdet.io import refuse_overwrite


def main(argv=None) -> dict:
    """Run one benchmark, print its table, write its JSON; the record."""
    args = parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    import custom_modules  # noqa: F401  (installs compat before mmcv.ops)
    try:
        if args.json:  # refused before the measuring, not after
            refuse_overwrite([args.json], args.force)
        record = run(args, argv)
    except (BenchmarkError, FileExistsError, FileNotFoundError,
            ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        raise SystemExit(1)
    print(summary(record))
    if args.json:
        write_json(args.json, record, args.force)
        print(f'JSON: {args.json}')
    return record


if __name__ == '__main__':
    main()
