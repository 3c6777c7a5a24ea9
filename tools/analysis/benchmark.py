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
``docs/benchmarks.md``; the logic lives in :mod:`ssdet.benchmark`.
"""
import argparse
import glob
import json
import os
import os.path as osp
import shlex
import shutil
import sys
import tempfile
import uuid
from typing import Dict, List, Optional

import custom_modules  # noqa: F401  (installs compat first)
from ssdet.benchmark.timing import (PeakMemory, Series, alternate,
                                    machine_info, paired_ratio)
from ssdet.io import atomic_write_text
from ssdet.tables import markdown_table

#: Default --config of each subcommand: a glob under the repository root
#: (the first match, sorted), so that a renamed schedule suffix still works.
DEFAULT_CONFIGS = {
    'swav': 'configs/swav/swav_resnet18_1xb16-mcrop-2-4-*_synthetic-*.py',
    'mocov2': 'configs/benchmarks/mocov2_resnet18_*_mmselfsup-stock.py',
    'faster-rcnn': 'configs/demo/faster-rcnn_r18_fpn_synthetic.py',
    'pipeline': 'configs/swav/swav_resnet50_4xb64-mcrop-2-6-coslr-200e_'
    'unlabeled-224-96_3000p.py',
}
#: Substring the model type must contain, per training subcommand.
MODEL_KINDS = {'swav': 'swav', 'mocov2': 'moco', 'faster-rcnn': 'rcnn'}
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class BenchmarkError(RuntimeError):
    """A benchmark that cannot run as asked (message says why)."""


# ------------------------------------------------------------ arguments
def _add_common(parser: argparse.ArgumentParser, iters: int, warmup: int,
                windows: int) -> None:
    parser.add_argument(
        '--iters',
        type=int,
        default=iters,
        help='iterations per timed window (default: %(default)s)')
    parser.add_argument(
        '--warmup',
        type=int,
        default=warmup,
        help='untimed iterations of each side first (default: %(default)s)')
    parser.add_argument(
        '--windows',
        type=int,
        default=windows,
        help='timed windows of each side (default: %(default)s)')
    parser.add_argument(
        '--device',
        default='cpu',
        choices=['cpu', 'cuda'],
        help='device (default: cpu)')
    parser.add_argument(
        '--json', metavar='FILE', help='also write the results as JSON')
    parser.add_argument(
        '--force', action='store_true', help='overwrite an existing --json')
    parser.add_argument(
        '--threads',
        type=int,
        help='torch.set_num_threads (default: torch\'s choice; on a loaded '
        'machine 1 avoids the oversubscription of OpenMP threads)')
    parser.add_argument(
        '--quiet', action='store_true', help='no progress bar')


def _add_configs(parser: argparse.ArgumentParser, kind: str) -> None:
    parser.add_argument(
        '--config',
        default=DEFAULT_CONFIGS.get(kind),
        help='our config (default: the first match of %(default)s)')
    parser.add_argument(
        '--baseline',
        help='a reference config measured alternately in the same process '
        '(a path, or an upstream one as mmselfsup::selfsup/...)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default={},
        action=_DictAction,
        help='override settings of --config, key=value')
    parser.add_argument(
        '--baseline-cfg-options',
        nargs='+',
        default={},
        action=_DictAction,
        help='override settings of --baseline, key=value')


class _DictAction(argparse.Action):
    """mmengine's ``DictAction``, imported lazily."""

    def __call__(self, parser, namespace, values, option_string=None):
        from mmengine.config import DictAction
        DictAction(self.option_strings, self.dest)(parser, namespace, values,
                                                   option_string)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Throughput benchmarks (images/s, peak memory, ratios '
        'against a reference measured alternately)')
    sub = parser.add_subparsers(dest='command', required=True)
    for kind in ('swav', 'mocov2', 'faster-rcnn'):
        p = sub.add_parser(
            kind, help=f'{kind} training steps on a fixed batch')
        _add_configs(p, kind)
        _add_common(p, iters=5, warmup=3, windows=5)
        p.add_argument(
            '--batch-size',
            type=int,
            help='images per step for both configs (default: --config\'s)')
        p.add_argument(
            '--image-size',
            type=int,
            nargs=2,
            default=[192, 256],
            metavar=('H', 'W'),
            help='size of the generated images the pipeline of --config '
            'turns into the batch (default: 192 256)')
        p.add_argument(
            '--amp',
            action='store_true',
            help='AmpOptimWrapper (autocast; CUDA only)')
        p.add_argument(
            '--amp-dtype',
            default='bfloat16',
            choices=['bfloat16', 'float16'],
            help='autocast dtype with --amp; float16 uses dynamic loss '
            'scaling (default: bfloat16)')
        p.add_argument(
            '--channels-last',
            action='store_true',
            help='model in channels_last memory format')
        p.add_argument(
            '--cudnn-benchmark',
            action='store_true',
            help='torch.backends.cudnn.benchmark = True')
        p.add_argument(
            '--seed',
            type=int,
            default=0,
            help='randomness.seed of both configs, so both start from '
            'comparable weights (default: %(default)s)')
        p.add_argument(
            '--count-flops',
            action='store_true',
            help='count the FLOPs of a step (torch.utils.flop_counter)')
        p.add_argument(
            '--peak-tflops',
            type=float,
            help='peak TFLOP/s of the device in the training dtype, for MFU '
            '(implies --count-flops), e.g. 989 for an H100 SXM in bf16')
    p = sub.add_parser(
        'pipeline', help='train data pipeline alone, per worker')
    _add_configs(p, 'pipeline')
    _add_common(p, iters=8, warmup=4, windows=5)
    p.add_argument(
        '--num-images',
        type=int,
        default=16,
        help='distinct generated images, cycled (default: %(default)s)')
    p.add_argument(
        '--image-size',
        type=int,
        nargs=2,
        default=[375, 500],
        metavar=('H', 'W'),
        help='generated image size (default: 375 500, ImageNet-like)')
    p.add_argument(
        '--image-format',
        default='.jpg',
        choices=['.jpg', '.png'],
        help='generated image format (default: .jpg)')
    p.add_argument(
        '--no-torchvision',
        action='store_true',
        help='skip the facebookresearch/swav torchvision reference of a '
        'multi-crop pipeline')
    p = sub.add_parser(
        'ops', help='NMS / RoIAlign: provider and mmcv.ops vs torchvision')
    _add_common(p, iters=20, warmup=5, windows=7)
    p.add_argument('--num-boxes', type=int, default=2000)
    p.add_argument('--iou-threshold', type=float, default=0.7)
    p.add_argument('--num-rois', type=int, default=512)
    p.add_argument(
        '--feat-size', type=int, nargs=2, default=[48, 64], metavar=('H', 'W'))
    p.add_argument('--channels', type=int, default=256)
    p = sub.add_parser(
        'scaling', help='nuImages extractor / KITTI converter at N x input')
    _add_common(p, iters=1, warmup=1, windows=3)
    p.add_argument(
        '--which',
        nargs='+',
        default=['nuimages', 'kitti'],
        choices=['nuimages', 'kitti'])
    p.add_argument(
        '--scales',
        type=int,
        nargs='+',
        default=[1, 4, 16],
        help='input sizes as multiples of the base (default: 1 4 16)')
    p.add_argument(
        '--nuimages-samples',
        type=int,
        default=1000,
        help='nuImages samples at 1x (4 sample_data rows each; default: '
        '%(default)s)')
    p.add_argument(
        '--kitti-frames',
        type=int,
        default=100,
        help='KITTI frames at 1x (8 label lines each; default: '
        '%(default)s)')
    args = parser.parse_args(argv)
    if args.iters < 1 or args.windows < 1 or args.warmup < 0:
        parser.error('--iters and --windows must be >= 1, --warmup >= 0')
    if getattr(args, 'config', None) in DEFAULT_CONFIGS.values():
        try:
            args.config = default_config(args.config)
        except BenchmarkError as err:
            parser.error(str(err))
    return args


# ------------------------------------------------------------- helpers
def _progress(total: int, quiet: bool, desc: str):
    if quiet:
        return None, None
    from tqdm import tqdm
    bar = tqdm(total=total, desc=desc, unit='window', file=sys.stderr)

    def update(message: str) -> None:
        bar.set_postfix_str(message, refresh=False)
        bar.update(1)

    return bar, update


def _sync(device: str):
    if device == 'cuda':
        import torch
        return torch.cuda.synchronize
    return None


def _check_device(device: str) -> None:
    import torch
    if device == 'cuda' and not torch.cuda.is_available():
        raise BenchmarkError('--device cuda but torch sees no CUDA device')


def _rel(path: Optional[str]) -> Optional[str]:
    if path is None:
        return None
    full = osp.abspath(path)
    return osp.relpath(full, REPO_ROOT) if full.startswith(
        REPO_ROOT + os.sep) else path


def default_config(pattern: str) -> str:
    """The first config (sorted) matching a default's glob pattern."""
    matches = sorted(glob.glob(osp.join(REPO_ROOT, pattern)))
    if not matches:
        raise BenchmarkError(f'no config matches the default {pattern}; '
                             'pass --config')
    return osp.relpath(matches[0], os.getcwd())


def _load(path: str, options: dict):
    from ssdet.config import check_cfg_options, load_config
    if '::' in path:  # an upstream config, e.g. mmdet::faster_rcnn/...
        from mmengine.hub import get_config
        cfg = get_config(path)
    else:
        cfg = load_config(path)
    check_cfg_options(cfg, options)
    if options:
        cfg.merge_from_dict(options)
    return cfg


def _rows(group: str,
          series: Dict[str, Series],
          unit: str,
          reference: Optional[str],
          memory: Optional[PeakMemory],
          labels: Optional[Dict[str, dict]] = None) -> List[dict]:
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
        table.append({
            'benchmark':
            row['group'],
            'name':
            row['name'],
            'median': f'{row["median"]:.4g} {row["unit"]}',
            'windows min-max':
            f'{min(row["windows"]):.4g}-{max(row["windows"]):.4g}',
            'ms/item':
            f'{row["ms_per_item"]:.4g}',
            'peak MiB':
            None
            if row.get('peak_mem_mb') is None else f'{row["peak_mem_mb"]:.0f}',
            'ratio vs reference':
            '' if ratio is None else
            f'{ratio["median"]:.3f} ({ratio["min"]:.3f}-{ratio["max"]:.3f}) '
            f'vs {row["reference"]}',
        })
    columns = [
        'benchmark', 'name', 'median', 'windows min-max', 'ms/item',
        'peak MiB', 'ratio vs reference'
    ]
    return markdown_table(table, columns)


# ---------------------------------------------------------- benchmarks
def run_train(args, work_dir: str) -> dict:
    import torch

    from ssdet.benchmark.data import write_samples
    from ssdet.benchmark.train_step import (TrainStepBench, build_batch,
                                            prepare_config)
    _check_device(args.device)
    if args.cudnn_benchmark and args.device == 'cuda':
        torch.backends.cudnn.benchmark = True
    sides = [('ours', args.config, args.cfg_options)]
    if args.baseline:
        sides.append(('baseline', args.baseline, args.baseline_cfg_options))
    cfgs, notes = {}, []
    for role, path, options in sides:
        cfg = _load(path, options)
        model_type = str(cfg.model.get('type', ''))
        if MODEL_KINDS[args.command] not in model_type.lower():
            raise BenchmarkError(
                f'{path} builds a {model_type!r} model, not what `'
                f'{args.command}` measures; use the matching subcommand '
                f'({", ".join(MODEL_KINDS)})')
        cfgs[role] = cfg
    batch_size = args.batch_size or cfgs['ours'].train_dataloader.batch_size
    scopes = {cfg.get('default_scope') for cfg in cfgs.values()}
    if len(scopes) > 1:
        raise BenchmarkError(
            f'--config and --baseline have different default_scope {scopes}; '
            'alternated runners must share one scope')
    for role, cfg in cfgs.items():
        changed = prepare_config(
            cfg,
            batch_size=batch_size,
            device=args.device,
            amp=args.amp,
            amp_dtype=args.amp_dtype,
            cudnn_benchmark=args.cudnn_benchmark,
            seed=args.seed)
        notes += [f'{role}: {line}' for line in changed]
    is_det = args.command == 'faster-rcnn'
    samples = write_samples(
        osp.join(work_dir, 'images'),
        min(batch_size, 8),
        size=tuple(args.image_size),
        ext='.png' if is_det else '.jpg')
    batch = build_batch(cfgs['ours'], samples, batch_size)
    notes.append(
        f'one batch of {batch_size} images made by the pipeline of '
        f'--config from {len(samples)} generated {args.image_size[0]}x'
        f'{args.image_size[1]} images, used by every side')
    max_iters = args.warmup + args.iters * args.windows + 2
    benches = {
        role: TrainStepBench(
            cfg,
            batch,
            work_dir,
            name=f'bench_{role}_{uuid.uuid4().hex[:12]}',
            device=args.device,
            channels_last=args.channels_last,
            max_iters=max_iters)
        for role, cfg in cfgs.items()
    }
    memory = PeakMemory(args.device)
    bar, update = _progress(args.windows * len(benches), args.quiet,
                            args.command)
    series = alternate({role: b.step
                        for role, b in benches.items()},
                       args.iters,
                       args.warmup,
                       args.windows,
                       items_per_call={role: batch_size
                                       for role in benches},
                       sync=_sync(args.device),
                       memory=memory,
                       progress=update)
    if bar is not None:
        bar.close()
    labels = {}
    for role, bench in benches.items():
        labels[role] = dict(
            config=_rel(dict((r, p) for r, p, _ in sides)[role]),
            batch_size=batch_size,
            state=bench.state())
    if args.count_flops or args.peak_tflops:
        for role, bench in benches.items():
            per_image = bench.count_flops() / batch_size
            labels[role]['gflop_per_image'] = per_image / 1e9
            if args.peak_tflops:
                rate = series[role].median_rate
                labels[role]['mfu'] = rate * per_image / (
                    args.peak_tflops * 1e12)
    states = {
        str(label['state'].get('swav_queue'))
        for label in labels.values()
    }
    if len(states) > 1:
        notes.append(f'WARNING: the SwAV queue differs between the sides '
                     f'({[label["state"] for label in labels.values()]}); '
                     'the ratio compares different work')
    for bench in benches.values():
        bench.close()
    rows = _rows(args.command, series, 'images/s',
                 'baseline' if args.baseline else None, memory, labels)
    settings = dict(
        batch_size=batch_size,
        amp=args.amp,
        amp_dtype=args.amp_dtype if args.amp else None,
        channels_last=args.channels_last,
        cudnn_benchmark=args.cudnn_benchmark,
        seed=args.seed,
        threads=torch.get_num_threads())
    return dict(rows=rows, notes=notes, settings=settings)


def run_pipeline(args, work_dir: str) -> dict:
    import cv2
    import torch

    from ssdet.benchmark.data import (SwAVTorchvisionMultiCrop, build_pipeline,
                                      cycle_calls, multicrop_spec,
                                      pipeline_call, train_pipeline_cfg,
                                      write_samples)
    samples = write_samples(
        osp.join(work_dir, 'images'),
        args.num_images,
        size=tuple(args.image_size),
        ext=args.image_format)
    fns, labels, notes = {}, {}, []
    sides = [('ours', args.config, args.cfg_options)]
    if args.baseline:
        sides.append(('baseline', args.baseline, args.baseline_cfg_options))
    spec = None
    for role, path, options in sides:
        cfg = _load(path, options)
        pipeline_cfg = train_pipeline_cfg(cfg)
        fns[role] = cycle_calls(
            pipeline_call(build_pipeline(cfg, pipeline_cfg), path), samples)
        labels[role] = dict(config=_rel(path))
        if role == 'ours':
            spec = multicrop_spec(pipeline_cfg)
    reference = 'baseline' if args.baseline else None
    if spec is not None and not args.no_torchvision:
        name = 'torchvision (facebookresearch/swav)'
        fns[name] = cycle_calls(SwAVTorchvisionMultiCrop(spec),
                                [s['img_path'] for s in samples])
        crops = ' + '.join(f'{n}x{size}' for n, size, _ in spec)
        labels[name] = dict(config=f'MultiCropDataset transform, {crops}')
        reference = name
        notes.append(
            'torchvision reference: facebookresearch/swav '
            'src/multicropdataset.py (PIL loader, RandomResizedCrop, flip, '
            'ColorJitter(0.8,0.8,0.8,0.2) p=0.8, grayscale p=0.2, cv2 '
            '23x23 blur p=0.5, ToTensor, Normalize) with the crops of '
            '--config; ours ends in uint8 tensors (normalised on the model '
            'side)')
    threads = torch.get_num_threads()
    cv2_threads = cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    notes.append('one worker: torch.set_num_threads(1), '
                 'cv2.setNumThreads(0) (as in an mmengine DataLoader worker)')
    notes.append(f'{args.num_images} generated {args.image_size[0]}x'
                 f'{args.image_size[1]} {args.image_format} images, cycled')
    try:
        memory = PeakMemory('cpu')
        bar, update = _progress(args.windows * len(fns), args.quiet,
                                'pipeline')
        series = alternate(
            fns,
            args.iters,
            args.warmup,
            args.windows,
            memory=memory,
            progress=update)
        if bar is not None:
            bar.close()
    finally:
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv2_threads)
    rows = _rows('pipeline', series, 'images/s', reference, memory, labels)
    if reference is not None and 'baseline' in series and \
            reference != 'baseline':
        notes.append('ours / baseline: ' + json.dumps({
            k: round(v, 4)
            for k, v in paired_ratio(series['ours'],
                                     series['baseline']).items()
        }))
    return dict(rows=rows, notes=notes, settings={})


def run_ops(args, work_dir: str) -> dict:
    import torch

    from ssdet.benchmark.ops import REFERENCE, op_groups
    _check_device(args.device)
    groups = op_groups(
        num_boxes=args.num_boxes,
        iou_threshold=args.iou_threshold,
        num_rois=args.num_rois,
        feat_size=tuple(args.feat_size),
        channels=args.channels,
        device=args.device)
    rows = []
    memory = PeakMemory(args.device)
    bar, update = _progress(
        args.windows * sum(len(g) for g in groups.values()), args.quiet,
        'ops')
    for op, fns in groups.items():
        grad = torch.enable_grad() if 'backward' in op else torch.no_grad()
        with grad:
            series = alternate(
                fns,
                args.iters,
                args.warmup,
                args.windows,
                sync=_sync(args.device),
                memory=memory,
                progress=update)
        rows += _rows(op, series, 'calls/s', REFERENCE, memory)
    if bar is not None:
        bar.close()
    notes = [
        f'nms: {args.num_boxes} clustered boxes, iou {args.iou_threshold}; '
        f'roi_align: {args.num_rois} RoIs on a 2x{args.channels}x'
        f'{args.feat_size[0]}x{args.feat_size[1]} map, 7x7, stride 4, '
        'sampling_ratio 0, aligned; RoIs of 8-64 px (those of the stride-4 '
        'FPN level)',
        'a ratio is calls/s over torchvision.ops calls/s: 1/ratio is the '
        'time ratio (target: time within 1.1x, i.e. ratio >= 0.91)'
    ]
    return dict(rows=rows, notes=notes, settings={})


def run_scaling(args, work_dir: str) -> dict:
    from ssdet.benchmark.data import scaling_cases
    if 1 not in args.scales:
        raise BenchmarkError('--scales must include 1 (the reference)')
    base = dict(nuimages=args.nuimages_samples, kitti=args.kitti_frames)
    cases = scaling_cases(work_dir, args.which, base, args.scales)
    rows = []
    memory = PeakMemory('cpu')
    bar, update = _progress(args.windows * len(args.scales) * len(cases),
                            args.quiet, 'scaling')
    for name, by_scale in cases.items():
        fns = {f'{s}x': fn for s, (fn, _) in by_scale.items()}
        items = {f'{s}x': n for s, (_, n) in by_scale.items()}
        series = alternate(
            fns,
            args.iters,
            args.warmup,
            args.windows,
            items_per_call=items,
            memory=memory,
            progress=update,
            disable_gc=True)
        labels = {
            f'{s}x': dict(items=n, seconds=sorted(series[f'{s}x'].seconds))
            for s, (_, n) in by_scale.items()
        }
        unit = 'rows/s' if name == 'nuimages' else 'lines/s'
        rows += _rows(name, series, unit, '1x', memory, labels)
    if bar is not None:
        bar.close()
    notes = [
        f'nuimages: select_images(check_files=False) on make_fake_tables('
        f'{args.nuimages_samples} x scale samples), 4 sample_data rows each',
        f'kitti: convert() of {args.kitti_frames} x scale frames, 8 label '
        'lines and a 1242x375 PNG header each',
        'linear in the input size: the ratio (throughput at Nx / at 1x) '
        'stays near 1',
        'garbage collected before each window and the cyclic collector off '
        'inside it (as timeit does): the converters\' own tools do not hold '
        'the torch/mmdet heap that makes a full collection cost ~0.2 s here'
    ]
    return dict(rows=rows, notes=notes, settings=dict(scales=args.scales))


RUNNERS = {
    'swav': run_train,
    'mocov2': run_train,
    'faster-rcnn': run_train,
    'pipeline': run_pipeline,
    'ops': run_ops,
    'scaling': run_scaling,
}


def write_json(path: str, record: dict, force: bool) -> None:
    """Write ``record`` atomically; an existing file needs ``force``."""
    if osp.exists(path) and not force:
        raise FileExistsError(f'{path} exists; pass --force to overwrite it')
    atomic_write_text(path, json.dumps(record, indent=2) + '\n')


def main(argv=None) -> dict:
    args = parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    if args.json and osp.exists(args.json) and not args.force:
        print(f'error: {args.json} exists; pass --force to overwrite it',
              file=sys.stderr)
        raise SystemExit(1)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    load_start = [round(x, 2) for x in os.getloadavg()] if hasattr(
        os, 'getloadavg') else None
    work_dir = tempfile.mkdtemp(prefix='benchmark_')
    try:
        result = RUNNERS[args.command](args, work_dir)
    except (BenchmarkError, FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        raise SystemExit(1)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    machine = machine_info(getattr(args, 'device', 'cpu'))
    machine['load_avg_at_start'] = load_start
    record = dict(
        command='python tools/analysis/benchmark.py ' +
        ' '.join(shlex.quote(a) for a in argv),
        subcommand=args.command,
        settings=dict(
            iters=args.iters,
            warmup=args.warmup,
            windows=args.windows,
            device=args.device,
            **result['settings']),
        machine=machine,
        results=result['rows'],
        notes=result['notes'])
    print(format_table(result['rows']))
    for note in result['notes']:
        print(f'- {note}')
    print(f'- machine: {machine["cpu"]}, {machine["cpu_cores"]} cores, '
          f'torch {machine["torch"]} ({machine["torch_threads"]} threads), '
          f'load average (1, 5, 15 min) {load_start} at the start, '
          f'{machine.get("load_avg_1_5_15")} at the end' +
          (f', {machine["gpu"]}' if machine.get('gpu') else ''))
    for row in result['rows']:
        if row.get('mfu') is not None:
            print(f'- {row["name"]}: {row["gflop_per_image"]:.1f} GFLOP per '
                  f'image, MFU {100 * row["mfu"]:.1f} %')
        elif row.get('gflop_per_image') is not None:
            print(f'- {row["name"]}: {row["gflop_per_image"]:.2f} GFLOP per '
                  'image')
    if args.json:
        write_json(args.json, record, args.force)
        print(f'JSON: {args.json}')
    return record


if __name__ == '__main__':
    main()
