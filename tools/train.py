"""Train a model from an mmselfsup- or mmdet-scoped config.

Example:
    python tools/train.py configs/demo/faster-rcnn_r18_fpn_synthetic.py
    tools/dist_train.sh configs/swav/r50_4gpu.py 4
"""
import argparse
import sys

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import custom_modules  # noqa: F401  (installs the compat layer first)
from custom_modules.compat.checkpoint import UnsafeCheckpointError
from custom_modules.engine.hooks import SwAVCollapseError
from custom_modules.transfer import TransferError
from ssdet.launch import (add_launch_arguments, config_for_launch,
                          finish_launch)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or, without a path, from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision with dynamic loss scaling (needs a GPU)')
    add_launch_arguments(parser, 'tools/dist_train.sh')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = config_for_launch(args)
    if cfg is None:  # --preflight
        return
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    try:
        runner.train()
    except (FloatingPointError, SwAVCollapseError, TransferError,
            UnsafeCheckpointError, FileNotFoundError) as e:
        # Expected failures carry a message that says what to do; the log in
        # the work dir gets it too.
        runner.logger.error(f'{type(e).__name__}: {e}')
        sys.exit(f'error: {e}')
    del runner  # finish_launch frees what holds the process group
    finish_launch()


if __name__ == '__main__':
    main()
