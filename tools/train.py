"""Train a model from an mmselfsup- or mmdet-scoped config.

Example:
    python tools/train.py configs/demo/faster-rcnn_r18_fpn_synthetic.py
    tools/dist_train.sh configs/swav/r50_4gpu.py 4
"""
import argparse
import os
import sys

from mmengine.config import DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import custom_modules  # noqa: F401  (installs the compat layer first)
from custom_modules.compat.checkpoint import UnsafeCheckpointError
from custom_modules.engine.hooks import SwAVCollapseError
from custom_modules.transfer import TransferError
from ssdet.config import ConfigKeyError, apply_cli_options, load_config
from ssdet.launch import (LaunchError, check_launch, exit_with_error,
                          local_world_size, prepare_launch)


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
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_epochs=2 '
        'model.backbone.init_cfg.checkpoint=work_dirs/swav/backbone.pth')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--preflight',
        action='store_true',
        help='only check that this machine can run the config with this '
        '--launcher and its number of processes here (LOCAL_WORLD_SIZE for '
        'pytorch), then exit; tools/dist_train.sh does so before it starts '
        'the processes')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    try:
        cfg = load_config(args.config)
        cfg.launcher = args.launcher
        apply_cli_options(cfg, args.config, args.work_dir, args.cfg_options)
        check_launch(
            cfg,
            args.launcher,
            local_world_size(args.launcher),
            amp=args.amp,
            cfg_options=args.cfg_options)
        if args.preflight:
            return
        if args.amp:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
        prepare_launch(cfg, args.launcher)
    except (ConfigKeyError, LaunchError, FileNotFoundError) as e:
        exit_with_error(f'error: {e}', args.launcher)

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


if __name__ == '__main__':
    main()
