"""Evaluate a checkpoint with the test set and metric of its config.

Example:
    python tools/test.py configs/demo/faster-rcnn_r18_fpn_synthetic.py \
        work_dirs/demo/epoch_12.pth --out results.pkl
"""
import argparse
import json
import sys

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import custom_modules  # noqa: F401  (installs the compat layer first)
from ssdet.io import atomic_write_text
from ssdet.launch import (add_launch_arguments, config_for_launch,
                          finish_launch)


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--out',
        help='dump raw predictions to this pickle file (.pkl); '
        'tools/analysis/compare_detections.py reads it as data')
    parser.add_argument(
        '--metrics-out',
        help='also write the metrics to this JSON file (for scripts)')
    parser.add_argument(
        '--show-dir',
        help='draw predictions and ground truth into this directory '
        '(relative to the work dir\'s timestamped folder)')
    add_launch_arguments(parser, 'tools/dist_test.sh')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = config_for_launch(args, training=False, checkpoint=args.checkpoint)
    if cfg is None:  # --preflight
        return
    cfg.load_from = args.checkpoint

    if args.show_dir:
        vis = cfg.default_hooks.get('visualization')
        if vis is None:
            sys.exit('error: --show-dir needs a visualization hook in '
                     'default_hooks (mmdet configs have one)')
        vis.draw = True
        vis.test_out_dir = args.show_dir
    if args.out:
        if not args.out.endswith(('.pkl', '.pickle')):
            sys.exit('error: --out must be a .pkl or .pickle file')
        evaluator = cfg.test_evaluator
        if isinstance(evaluator, dict):
            evaluator = [evaluator]
        cfg.test_evaluator = list(evaluator) + [
            dict(type='DumpResults', out_file_path=args.out)
        ]

    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    metrics = runner.test()
    if args.metrics_out and runner.rank == 0:
        write_metrics(args.metrics_out, metrics, args.config, args.checkpoint)
    del runner  # finish_launch frees what holds the process group
    finish_launch()


def write_metrics(path: str, metrics: dict, config: str,
                  checkpoint: str) -> None:
    """Write ``metrics`` (plus where they came from) atomically as JSON."""
    record = dict(
        config=config,
        checkpoint=checkpoint,
        metrics={k: _plain(v)
                 for k, v in metrics.items()})
    atomic_write_text(path, json.dumps(record, indent=2))


def _plain(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


if __name__ == '__main__':
    main()
