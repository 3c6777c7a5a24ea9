"""tools/dist_train.sh with 2 CPU processes (gloo): SwAV with its per-rank
queue, and a Faster R-CNN train -> resume -> tools/test.py round trip."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from custom_modules.compat.checkpoint import load_checkpoint_file

SWAV = osp.join(
    'configs', 'swav',
    'swav_resnet18_1xb16-mcrop-2-4-coslr-3e_synthetic-64-32_64p.py')
DEMO = osp.join('configs', 'demo', 'faster-rcnn_r18_fpn_synthetic.py')


def run(repo_root, cmd, port):
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PORT=str(port),
        OMP_NUM_THREADS='1',
        PYTHONUNBUFFERED='1')
    proc = subprocess.run(
        cmd,
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=600,
        env=env)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    return log


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
@pytest.mark.skipif(torch.cuda.is_available(), reason='tests the CPU path')
def test_swav_two_cpu_processes(repo_root, synthetic_root, tmp_path):
    work = tmp_path / 'swav'
    log = run(repo_root, [
        'bash', 'tools/dist_train.sh', SWAV, '2', '--work-dir',
        str(work), '--cfg-options',
        f'train_dataloader.dataset.data_root={synthetic_root}/unlabeled/',
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=2',
        'custom_hooks.0.queue_length=16',
        'custom_hooks.0.epoch_queue_starts=1',
        'default_hooks.logger.interval=1'
    ], 29611)
    assert 'Distributed launcher: pytorch' in log or 'gloo' in log
    assert re.search(r'Epoch\(train\) \[2\]', log)
    ckpt = load_checkpoint_file(str(work / 'epoch_2.pth'))
    queues = ckpt['swav_queue']['queues']
    assert queues.shape[0] == 2  # one queue per rank
    assert not torch.equal(queues[0], queues[1])
    assert any(k.startswith('backbone.') for k in ckpt['state_dict'])


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='tests the CPU path')
def test_detector_train_resume_test(repo_root, synthetic_root, tmp_path):
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
    run(repo_root, [
        'bash', 'tools/dist_train.sh', DEMO, '2', '--work-dir',
        str(work), '--cfg-options', 'train_cfg.max_epochs=1'
    ] + opts, 29612)
    assert osp.isfile(work / 'epoch_1.pth')
    log = run(repo_root, [
        'bash', 'tools/dist_train.sh', DEMO, '2', '--work-dir',
        str(work), '--resume', '--cfg-options', 'train_cfg.max_epochs=2'
    ] + opts, 29613)
    assert 'resumed epoch: 1' in log
    assert osp.isfile(work / 'epoch_2.pth')
    metrics = tmp_path / 'metrics.json'
    log = run(repo_root, [
        sys.executable, 'tools/test.py', DEMO,
        str(work / 'epoch_2.pth'), '--work-dir',
        str(tmp_path / 'test'), '--metrics-out',
        str(metrics), '--cfg-options'
    ] + data_options(synthetic_root) + small[4:], 29614)
    assert 'coco/bbox_mAP_50' in log
    assert osp.isfile(metrics)
