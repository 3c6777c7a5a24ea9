"""End to end: tools/train.py on the tiny SwAV config, then --resume."""
import os.path as osp
import re

import cv2
import numpy as np
import pytest

from custom_modules.compat.checkpoint import load_checkpoint_file

CONFIG = osp.join(
    'configs', 'swav',
    'swav_resnet18_1xb16-mcrop-2-4-coslr-3e_synthetic-64-32_64p.py')


def _images(root, num=15):
    rng = np.random.RandomState(0)
    for i in range(num):
        img = rng.randint(0, 255, (48, 64, 3), np.uint8)
        assert cv2.imwrite(osp.join(root, f'{i:03d}.png'), img)
    ok, buf = cv2.imencode('.jpg', rng.randint(0, 255, (48, 64, 3), np.uint8))
    with open(osp.join(root, 'zzz_truncated.jpg'), 'wb') as f:
        f.write(buf.tobytes()[:300])


def _train(run_tool, work_dir, data_root, *extra):
    cmd = [
        CONFIG, '--work-dir',
        str(work_dir), *extra, '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'custom_hooks.0.queue_length=8', 'custom_hooks.0.epoch_queue_starts=1',
        'custom_hooks.0.frozen_layers_cfg.prototypes=2',
        'default_hooks.logger.interval=1'
    ]
    if '--resume' in extra:
        cmd.append('train_cfg.max_epochs=3')
    else:
        cmd.append('train_cfg.max_epochs=2')
    rc, log = run_tool('train.py', *cmd, timeout=300)
    assert rc == 0, log[-3000:]
    return log


@pytest.mark.slow
def test_train_then_resume(run_tool, tmp_path):
    data = tmp_path / 'unlabeled'
    data.mkdir()
    _images(str(data))
    work = tmp_path / 'work'
    log = _train(run_tool, work, data)

    # The unreadable image: named in a warning, counted at each epoch end.
    assert 'skipping unreadable image' in log and 'zzz_truncated.jpg' in log
    assert re.search(r'epoch 1: [1-9]\d* unreadable image\(s\) skipped', log)
    assert re.search(r'epoch 2: [1-9]\d* unreadable image\(s\) skipped', log)
    assert 'SwAV queue started at epoch 1' in log

    ckpt = load_checkpoint_file(str(work / 'epoch_2.pth'))
    keys = list(ckpt['state_dict'])
    backbone = [k for k in keys if k.startswith('backbone.')]
    assert 'backbone.conv1.weight' in backbone
    assert 'backbone.layer4.1.bn2.running_var' in backbone
    assert any(k.startswith('head.loss.prototypes') for k in keys)
    pretrain = ckpt['meta']['pretrain_cfg']
    assert pretrain['depth'] == 18 and pretrain['norm'] == 'BN'
    assert pretrain['bgr_to_rgb'] is True and len(pretrain['mean']) == 3
    state = ckpt['swav_queue']
    # 16 files, 15 readable + 1 broken; batch 4 -> 4 iterations an epoch
    # that visit every file (with 17, drop_last left out one file an
    # epoch, in an unseeded order: the broken one 1 time in 17)
    assert state['started_iter'] == 4
    assert tuple(state['queues'].shape) == (1, 2, 8, 128)
    assert state['queues'].abs().sum() > 0

    log = _train(run_tool, work, data, '--resume', str(work / 'epoch_2.pth'))
    assert 'SwAV queue restored from the checkpoint' in log
    assert 'resumed epoch: 2, iter: 8' in log
    assert osp.isfile(work / 'epoch_3.pth')
