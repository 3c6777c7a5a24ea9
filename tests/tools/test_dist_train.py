"""tools/dist_train.sh and tools/dist_test.sh with 2 CPU processes (gloo),
started from another directory by a shell whose ``python`` is not the
project's: SwAV with its per-rank queue; a Faster R-CNN train -> resume ->
test round trip; the 4-GPU SwAV recipe refused in one message (also when
torchrun starts tools/train.py directly) whose ``--cfg-options`` then make it
train on the CPU."""
import os
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest
import torch

from custom_modules.compat.checkpoint import load_checkpoint_file

SWAV = osp.join(
    'configs', 'swav',
    'swav_resnet18_1xb16-mcrop-2-4-coslr-3e_synthetic-64-32_64p.py')
SWAV_4GPU = osp.join('configs', 'swav', 'r50_4gpu.py')
DEMO = osp.join('configs', 'demo', 'faster-rcnn_r18_fpn_synthetic.py')

CPU_ONLY = pytest.mark.skipif(
    torch.cuda.is_available(), reason='tests the CPU path')


@pytest.fixture
def shell(repo_root, tmp_path):
    """Run a tool script as a user's shell would: from ``tmp_path``, with
    no PYTHON, no virtualenv and a ``python`` on the PATH that exits 3."""
    venv = osp.join(repo_root, '.venv')
    if osp.realpath(sys.prefix) != osp.realpath(venv):
        pytest.skip(f'the scripts default to {venv}, and these tests run '
                    f'in {sys.prefix}')
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'python').write_text('#!/bin/sh\nexit 3\n')
    (bin_dir / 'python').chmod(0o755)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ('PYTHON', 'VIRTUAL_ENV', 'PYTHONPATH')
    }
    env.update(
        PATH=f'{bin_dir}:/usr/bin:/bin',
        OMP_NUM_THREADS='1',
        PYTHONUNBUFFERED='1')

    def run(script, *args, port, ok=True):
        proc = subprocess.run(
            ['bash', osp.join(repo_root, 'tools', script)] + [
                osp.join(repo_root, a) if a.startswith('configs') else a
                for a in args
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            env=dict(env, PORT=str(port)))
        log = proc.stdout + proc.stderr
        assert (proc.returncode == 0) == ok, log[-4000:]
        return log

    return run


def data_options(root):
    root = root.rstrip('/') + '/'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/val.json',
        f'test_evaluator.ann_file={root}annotations/val.json',
    ]


@pytest.mark.slow
@CPU_ONLY
def test_swav_two_cpu_processes(shell, synthetic_root, tmp_path):
    work = tmp_path / 'swav'
    log = shell(
        'dist_train.sh',
        SWAV,
        '2',
        '--work-dir',
        str(work),
        '--cfg-options',
        f'train_dataloader.dataset.data_root={synthetic_root}/unlabeled/',
        'train_dataloader.batch_size=4',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=2',
        'custom_hooks.0.queue_length=16',
        'custom_hooks.0.epoch_queue_starts=1',
        'default_hooks.logger.interval=1',
        port=29611)
    assert 'Distributed launcher: pytorch' in log or 'gloo' in log
    assert re.search(r'Epoch\(train\) \[2\]', log)
    ckpt = load_checkpoint_file(str(work / 'epoch_2.pth'))
    queues = ckpt['swav_queue']['queues']
    assert queues.shape[0] == 2  # one queue per rank
    assert not torch.equal(queues[0], queues[1])
    assert any(k.startswith('backbone.') for k in ckpt['state_dict'])


@pytest.mark.slow
@CPU_ONLY
def test_detector_train_resume_test(shell, synthetic_root, tmp_path):
    work = tmp_path / 'det'
    small = [
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'default_hooks.checkpoint.interval=1', 'train_cfg.val_interval=10'
    ]
    opts = data_options(synthetic_root) + small
    shell(
        'dist_train.sh',
        DEMO,
        '2',
        '--work-dir',
        str(work),
        '--cfg-options',
        'train_cfg.max_epochs=1',
        *opts,
        port=29612)
    assert osp.isfile(work / 'epoch_1.pth')
    log = shell(
        'dist_train.sh',
        DEMO,
        '2',
        '--work-dir',
        str(work),
        '--resume',
        '--cfg-options',
        'train_cfg.max_epochs=2',
        *opts,
        port=29613)
    assert 'resumed epoch: 1' in log
    assert osp.isfile(work / 'epoch_2.pth')
    metrics = tmp_path / 'metrics.json'
    log = shell(
        'dist_test.sh',
        DEMO,
        str(work / 'epoch_2.pth'),
        '2',
        '--work-dir',
        str(tmp_path / 'test'),
        '--metrics-out',
        str(metrics),
        '--cfg-options',
        *data_options(synthetic_root),
        *small[4:],
        port=29614)
    assert 'coco/bbox_mAP_50' in log
    assert osp.isfile(metrics)


def refusal(shell, nproc):
    """The message ``dist_train.sh configs/swav/r50_4gpu.py N`` ends with
    on a machine without CUDA, and the ``--cfg-options`` it suggests."""
    log = shell('dist_train.sh', SWAV_4GPU, str(nproc), port=29615, ok=False)
    assert 'Traceback' not in log and 'ChildFailedError' not in log
    assert log.count('cannot run as written') == 1, log
    message = log[log.index('error: '):].rstrip('\n')
    *_, last = message.splitlines()
    options = shlex.split(last)
    assert options[0] == '--cfg-options'
    return message, options[1:]


@CPU_ONLY
def test_swav_4gpu_recipe_on_cpu_is_one_message(shell):
    message, options = refusal(shell, 4)
    assert message.splitlines()[0].endswith(
        'r50_4gpu.py cannot run as written on this machine: 4 processes '
        'asked for, 0 CUDA GPUs here.')
    assert "optim_wrapper.type='AmpOptimWrapper' (from the config)" in message
    assert "model.backbone.norm_cfg.type='SyncBN' (from the config)" in (
        message)
    assert '--amp' not in message
    assert options[:2] == [
        'optim_wrapper._delete_=True', 'optim_wrapper.type=OptimWrapper'
    ]
    assert options[-2:] == [
        'model.backbone.norm_cfg.type=BN',
        'model.neck.norm_cfg.type=BatchNormXd'
    ]


@pytest.mark.slow
@CPU_ONLY
def test_suggested_options_train_swav_4gpu_recipe_on_cpu(
        shell, synthetic_root, tmp_path):
    _, options = refusal(shell, 2)
    crops = 'train_dataloader.dataset.pipeline.1.transforms'
    log = shell(
        'dist_train.sh',
        SWAV_4GPU,
        '2',
        '--work-dir',
        str(tmp_path / 'swav'),
        '--cfg-options',
        *options,
        f'train_dataloader.dataset.data_root={synthetic_root}/unlabeled/',
        'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        f'{crops}.0.0.size=32',
        f'{crops}.1.0.size=16',
        'train_cfg.max_epochs=1',
        'default_hooks.checkpoint.save_last=False',
        'default_hooks.logger.interval=1',
        port=29616)
    assert re.search(r'Epoch\(train\) \[1\]\[12/12\]', log), log[-4000:]
    assert 'AmpOptimWrapper' not in log and 'SyncBatchNorm' not in log


@CPU_ONLY
def test_processes_started_by_torchrun_print_the_message_once(
        repo_root, tmp_path):
    # Without dist_train.sh's preflight every process meets the problem:
    # local rank 0 prints it, the other waits to be stopped, and torchrun
    # names the one that printed as the root cause.
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        '--master_port=29617',
        osp.join(repo_root, 'tools', 'train.py'),
        osp.join(repo_root, SWAV_4GPU), '--launcher', 'pytorch'
    ]
    proc = subprocess.run(
        cmd,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    log = proc.stdout + proc.stderr
    assert proc.returncode == 1, log[-4000:]
    assert log.count('cannot run as written') == 1, log
    assert '  --cfg-options optim_wrapper._delete_=True ' in log
    assert re.search(r'Root Cause.*?local_rank: 0\)\s+exitcode\s*: 1 ', log,
                     re.S), log
