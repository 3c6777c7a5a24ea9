"""The benchmarks of ``tools/analysis/benchmark.py``, one function a
subcommand, and :func:`run`, which times one and builds its record.

Each ``run_*`` function takes the parsed command line (an
``argparse.Namespace`` with the options of its subcommand) and a scratch
folder, and returns ``dict(rows=..., notes=..., settings=...)``: the rows of
:func:`~.report.result_rows`, notes for the reader, and the settings that
are not options.
"""
import contextlib
import glob
import json
import os
import os.path as osp
import shlex
import sys
import tempfile
import uuid
from typing import Callable, Iterator, Optional, Sequence, Tuple

from ..config import load_config, merge_cfg_options
from .report import result_rows
from .timing import PeakMemory, alternate, machine_info, paired_ratio

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
#: The repository root (configs and relative config paths are under it).
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class BenchmarkError(RuntimeError):
    """A benchmark that cannot run as asked (message says why)."""


def _alternate(args, fns, **kwargs):
    """:func:`alternate` with the command line's iterations, warm-up and
    windows."""
    return alternate(fns, args.iters, args.warmup, args.windows, **kwargs)


def default_config(pattern: str) -> str:
    """The first config (sorted) matching a default's glob pattern, relative
    to the working directory.

    Raises:
        BenchmarkError: Nothing matches.
    """
    matches = sorted(glob.glob(osp.join(REPO_ROOT, pattern)))
    if not matches:
        raise BenchmarkError(f'no config matches the default {pattern}; '
                             'pass --config')
    return osp.relpath(matches[0], os.getcwd())


@contextlib.contextmanager
def _progress(total: int, quiet: bool,
              desc: str) -> Iterator[Optional[Callable[[str], None]]]:
    """A tqdm bar of ``total`` windows on stderr, as the ``progress``
    function of :func:`~.timing.alternate` (None when ``quiet``)."""
    if quiet:
        yield None
        return
    from tqdm import tqdm
    with tqdm(total=total, desc=desc, unit='window', file=sys.stderr) as bar:

        def update(message: str) -> None:
            bar.set_postfix_str(message, refresh=False)
            bar.update(1)

        yield update


def _sync(device: str) -> Optional[Callable[[], None]]:
    if device == 'cuda':
        import torch
        return torch.cuda.synchronize
    return None


def _check_device(device: str) -> None:
    import torch
    if device == 'cuda' and not torch.cuda.is_available():
        raise BenchmarkError('--device cuda but torch sees no CUDA device')


def _rel(path: Optional[str]) -> Optional[str]:
    """A config path relative to the repository root when it is inside."""
    if path is None:
        return None
    full = osp.abspath(path)
    return osp.relpath(full, REPO_ROOT) if full.startswith(
        REPO_ROOT + os.sep) else path


def _sides(args) -> list:
    """``(role, config, options)`` of --config and, if given, --baseline."""
    sides = [('ours', args.config, args.cfg_options)]
    if args.baseline:
        sides.append(('baseline', args.baseline, args.baseline_cfg_options))
    return sides


def run_train(args, work_dir: str) -> dict:
    import torch

    from .data import write_samples
    from .train_step import TrainStepBench, build_batch, prepare_config
    _check_device(args.device)
    if args.cudnn_benchmark and args.device == 'cuda':
        torch.backends.cudnn.benchmark = True
    sides = _sides(args)
    cfgs, notes = {}, []
    for role, path, options in sides:
        cfg = merge_cfg_options(load_config(path), options)
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
    with _progress(args.windows * len(benches), args.quiet,
                   args.command) as update:
        series = _alternate(
            args, {role: b.step
                   for role, b in benches.items()},
            items_per_call={role: batch_size
                            for role in benches},
            sync=_sync(args.device),
            memory=memory,
            progress=update)
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
    rows = result_rows(args.command, series, 'images/s',
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


def _pipeline_samples(args, work_dir: str) -> Tuple[list, str]:
    """The files a ``pipeline`` benchmark cycles through, and a note."""
    from .data import real_samples, write_samples
    out_dir = osp.join(work_dir, 'images')
    if args.images:
        samples = real_samples(args.images, out_dir, args.num_images or None,
                               args.image_format, args.jpeg_quality)
        sizes = sorted({(s['height'], s['width']) for s in samples})
        how = (f're-encoded as {args.image_format}' +
               (f' (quality {args.jpeg_quality})'
                if args.image_format == '.jpg' else '')
               if args.image_format else 'as they are')
        return samples, (
            f'{len(samples)} images of {args.images} ({how}), cycled; sizes '
            + ', '.join(f'{h}x{w}' for h, w in sizes[:3]) +
            (' ...' if len(sizes) > 3 else ''))
    ext = args.image_format or '.jpg'
    samples = write_samples(
        out_dir,
        args.num_images,
        size=tuple(args.image_size),
        ext=ext,
        quality=args.jpeg_quality)
    return samples, (f'{args.num_images} generated {args.image_size[0]}x'
                     f'{args.image_size[1]} {ext} images' +
                     (f' (quality {args.jpeg_quality})' if ext == '.jpg' else
                      '') + ', cycled')


def run_pipeline(args, work_dir: str) -> dict:
    import cv2
    import torch

    from .data import (SwAVTorchvisionMultiCrop, build_pipeline, cycle_calls,
                       multicrop_spec, pipeline_call, preprocessor_call,
                       train_pipeline_cfg)
    if args.num_images < 0 or args.batch_size < 1:
        raise BenchmarkError('--num-images must be >= 0, --batch-size >= 1')
    samples, samples_note = _pipeline_samples(args, work_dir)
    fns, labels, notes, items = {}, {}, [], {}
    spec = None
    for role, path, options in _sides(args):
        cfg = merge_cfg_options(load_config(path), options)
        pipeline_cfg = train_pipeline_cfg(cfg)
        pipeline = build_pipeline(cfg, pipeline_cfg)
        labels[role] = dict(config=_rel(path))
        preprocessor = cfg.model.get('data_preprocessor') or {}
        if 'transforms' in preprocessor:  # the views are made on --device
            _check_device(args.device)
            fns[role] = preprocessor_call(cfg, pipeline, samples,
                                          args.batch_size, args.device)
            items[role] = args.batch_size
            labels[role].update(device=args.device)
            notes.append(
                f'{role}: {preprocessor["type"]} on {args.device}, batches '
                f'of {args.batch_size} read and packed beforehand (the '
                'workers\' part); images/s of the data preprocessor')
            if role == 'ours':
                spec = multicrop_spec([
                    dict(type='MultiView', num_views=preprocessor[
                        'num_views'], transforms=preprocessor['transforms'])
                ])
            continue
        fns[role] = cycle_calls(pipeline_call(pipeline, path), samples)
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
    notes.append(samples_note)
    try:
        memory = PeakMemory('cpu')
        with _progress(args.windows * len(fns), args.quiet,
                       'pipeline') as update:
            series = _alternate(
                args,
                fns,
                items_per_call=items,
                sync=_sync(args.device),
                memory=memory,
                progress=update)
    finally:
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv2_threads)
    rows = result_rows('pipeline', series, 'images/s', reference, memory,
                       labels)
    if reference is not None and 'baseline' in series and \
            reference != 'baseline':
        notes.append('ours / baseline: ' + json.dumps({
            k: round(v, 4)
            for k, v in paired_ratio(series['ours'],
                                     series['baseline']).items()
        }))
    settings = dict(images=args.images, image_format=args.image_format,
                    jpeg_quality=args.jpeg_quality)
    if items:
        settings['batch_size'] = args.batch_size
    return dict(rows=rows, notes=notes, settings=settings)


def run_ops(args, work_dir: str) -> dict:
    import torch

    from .ops import REFERENCE, op_groups
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
    total = args.windows * sum(len(g) for g in groups.values())
    with _progress(total, args.quiet, 'ops') as update:
        for op, fns in groups.items():
            grad = torch.enable_grad() if 'backward' in op else \
                torch.no_grad()
            with grad:
                series = _alternate(
                    args,
                    fns,
                    sync=_sync(args.device),
                    memory=memory,
                    progress=update)
            rows += result_rows(op, series, 'calls/s', REFERENCE, memory)
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
    from .data import scaling_cases
    if 1 not in args.scales:
        raise BenchmarkError('--scales must include 1 (the reference)')
    base = dict(nuimages=args.nuimages_samples, kitti=args.kitti_frames)
    cases = scaling_cases(work_dir, args.which, base, args.scales)
    rows = []
    memory = PeakMemory('cpu')
    total = args.windows * len(args.scales) * len(cases)
    with _progress(total, args.quiet, 'scaling') as update:
        for name, by_scale in cases.items():
            fns = {f'{s}x': fn for s, (fn, _) in by_scale.items()}
            items = {f'{s}x': n for s, (_, n) in by_scale.items()}
            series = _alternate(
                args,
                fns,
                items_per_call=items,
                memory=memory,
                progress=update,
                disable_gc=True)
            labels = {
                f'{s}x': dict(
                    items=n, seconds=sorted(series[f'{s}x'].seconds))
                for s, (_, n) in by_scale.items()
            }
            unit = 'rows/s' if name == 'nuimages' else 'lines/s'
            rows += result_rows(name, series, unit, '1x', memory, labels)
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


def run(args, argv: Sequence[str]) -> dict:
    """Run the subcommand of ``args`` in a scratch folder; its record.

    Args:
        args (argparse.Namespace): The parsed command line.
        argv (Sequence[str]): The arguments as given, for the record.

    Returns:
        dict: ``command``, ``subcommand``, ``settings``, ``machine`` (with
        the load average at the start and at the end), ``results`` (the
        rows) and ``notes``.

    Raises:
        BenchmarkError: The benchmark cannot run as asked.
    """
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    load_start = [round(x, 2) for x in os.getloadavg()] if hasattr(
        os, 'getloadavg') else None
    with tempfile.TemporaryDirectory(
            prefix='benchmark_', ignore_cleanup_errors=True) as work_dir:
        result = RUNNERS[args.command](args, work_dir)
    machine = machine_info(getattr(args, 'device', 'cpu'))
    machine['load_avg_at_start'] = load_start
    return dict(
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
