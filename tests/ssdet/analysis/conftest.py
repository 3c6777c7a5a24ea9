"""Fixtures: a grid work dir with test metrics, mmengine training logs."""
import json
import os.path as osp

import pytest

KITTI = ('Car', 'Van', 'Truck', 'Pedestrian', 'Person_sitting', 'Cyclist',
         'Tram')


def write_test_run(root, stage, name, axes, values, metrics, order):
    """A test run as tools/sweep.py leaves it: metrics.json + .done."""
    run_dir = osp.join(root, stage, name)
    import os
    os.makedirs(run_dir, exist_ok=True)
    with open(osp.join(run_dir, 'metrics.json'), 'w') as f:
        json.dump(dict(config='c.py', checkpoint='e.pth', metrics=metrics),
                  f)
    with open(osp.join(run_dir, '.done'), 'w') as f:
        json.dump(
            dict(stage=stage, kind='test', run=name, order=order, axes=axes,
                 values=values, command=['python'],
                 artifact=osp.join(run_dir, 'metrics.json')), f)
    return run_dir


def kitti_metrics(base):
    metrics = {f'kitti/AP50_{c}': base + i for i, c in enumerate(KITTI)}
    del metrics['kitti/AP50_Person_sitting']  # no ground truth in the split
    metrics['kitti/mAP'] = base + 3.0
    metrics['kitti/Car_moderate_R40'] = base - 1
    metrics['coco/bbox_mAP'] = 0.4
    metrics['coco/bbox_mAP_50'] = 0.6
    return metrics


@pytest.fixture
def kitti_grid(tmp_path):
    """da-style grid: pretrain x epoch axes with KITTI metrics."""
    root = str(tmp_path / 'da_epochs')
    order = 0
    for p, pretrain in enumerate(('imagenet', 'nuimages')):
        for epoch in (20, 40, 60):
            name = f'pretrain-{pretrain}_epoch-{epoch}'
            write_test_run(root, 'test', name,
                           dict(pretrain=pretrain, epoch=str(epoch)),
                           dict(pretrain=pretrain, epoch=epoch),
                           kitti_metrics(50.0 + 10 * p + epoch / 10), order)
            order += 1
    return root


@pytest.fixture
def coco_grid(tmp_path):
    """semi-style grid: a backbone axis with COCO metrics (0..1)."""
    root = str(tmp_path / 'semi')
    for i, backbone in enumerate(('r18-70e-1000p', 'r50-200e-3000p')):
        metrics = {
            'coco/bbox_mAP': 0.2 + i / 10,
            'coco/bbox_mAP_50': 0.4 + i / 10,
            'coco/bbox_mAP_75': 0.2,
            'coco/bbox_mAP_s': 0.05,
            'coco/bbox_mAP_m': 0.25,
            'coco/bbox_mAP_l': -1.0 if i == 0 else 0.5,
        }
        write_test_run(root, 'test', f'backbone-{backbone}',
                       dict(backbone=backbone), dict(backbone=backbone),
                       metrics, 10 - i)  # marker order decides the rows
    return root


def write_scalars(work_dir, timestamp, lines):
    path = osp.join(work_dir, timestamp, 'vis_data', 'scalars.json')
    import os
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        for line in lines:
            f.write(line if isinstance(line, str) else json.dumps(line))
            f.write('\n')
    return path


def train_line(it, epoch, loss, **extra):
    return dict(lr=0.1, data_time=0.01, loss=loss, time=0.2, epoch=epoch,
                iter=it, memory=100, step=it, **extra)


@pytest.fixture
def swav_work_dir(tmp_path):
    """A SwAV run of 3 epochs x 20 iterations, resumed once; the queue
    starts at epoch 1 (iteration 20)."""
    import math
    wd = str(tmp_path / 'swav')
    ln_k = math.log(64)
    first = [train_line(i, (i - 1) // 20 + 1, ln_k - 0.01 * i)
             for i in range(10, 41, 10)]
    write_scalars(wd, '20240101_000000', first + ['{"lr": 0.1, "lo'])
    second = [train_line(i, (i - 1) // 20 + 1, ln_k - 0.02 * i)
              for i in range(40, 61, 10)]
    write_scalars(wd, '20240101_010000', second)
    with open(osp.join(wd, '20240101_000000', '20240101_000000.log'),
              'w') as f:
        f.write('01/01 00:00:05 - mmengine - INFO - SwAV queue: 128 '
                'embeddings (128 per rank), starts at epoch 1\n'
                '01/01 00:01:00 - mmengine - INFO - SwAV queue started at '
                'epoch 1 (epoch 1, iter 20); it is used once full, after 8 '
                'iterations\n')
    with open(osp.join(wd, '20240101_000000', 'vis_data', 'config.py'),
              'w') as f:
        f.write("model = dict(head=dict(loss=dict(num_prototypes=64)))\n"
                "custom_hooks = [dict(type='SwAVQueueHook', "
                "epoch_queue_starts=1)]\n")
    return wd


@pytest.fixture
def det_work_dirs(tmp_path):
    """Two fine-tuning runs with validation every 2 epochs."""
    dirs = []
    for n, name in enumerate(('scratch', 'swav')):
        wd = str(tmp_path / f'det_{name}')
        lines = []
        for epoch in (1, 2, 3, 4):
            lines.append(train_line(epoch * 5, epoch, 1.0 / epoch))
            if epoch % 2 == 0:
                lines.append({'coco/bbox_mAP': 0.1 * epoch,
                              'coco/bbox_mAP_50': 0.1 * epoch + 0.1 * n,
                              'data_time': 0.01, 'time': 0.1,
                              'step': epoch})
        write_scalars(wd, '20240101_000000', lines)
        dirs.append(wd)
    return dirs


@pytest.fixture(name='write_test_run')
def write_test_run_fixture():
    return write_test_run
