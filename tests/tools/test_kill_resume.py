"""Kill ``tools/train.py`` with SIGKILL in the middle of an epoch, resume it
with ``--resume``, and compare with an uninterrupted run: same iteration and
epoch, same lr at every iteration, same optimizer, scheduler and SwAV queue
state, same final weights."""
import glob
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config

from custom_modules.compat.checkpoint import load_checkpoint_file

ITERS_PER_EPOCH = 4
MAX_EPOCHS = 3
RUN_TIMEOUT = 240


def _swav_config(repo_root, data_root):
    found = sorted(
        glob.glob(
            osp.join(repo_root, 'configs', 'swav',
                     'swav_resnet18_1xb16-mcrop-2-4-coslr-*e_synthetic-*.py')))
    if not found:
        pytest.fail('tiny SwAV config configs/swav/swav_resnet18_1xb16-'
                    'mcrop-2-4-coslr-*e_synthetic-*.py is missing')
    cfg = Config.fromfile(found[0])
    loader = cfg.train_dataloader
    loader.dataset.data_root = osp.join(data_root, 'unlabeled')
    loader.batch_size = 4
    loader.num_workers = 0
    loader.persistent_workers = False
    cfg.train_cfg.max_epochs = MAX_EPOCHS
    cfg.param_scheduler[0].T_max = MAX_EPOCHS
    cfg.param_scheduler[0].end = MAX_EPOCHS
    queue = cfg.custom_hooks[0]
    assert queue.type == 'SwAVQueueHook'
    queue.update(queue_length=8, epoch_queue_starts=1,
                 adaptive_loss_ratio=None, frozen_layers_cfg=dict(
                     prototypes=2))
    return cfg


def _faster_rcnn_config(repo_root, data_root):
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', 'demo',
                 'faster-rcnn_r18_fpn_synthetic.py'))
    loader = cfg.train_dataloader
    loader.dataset.data_root = data_root + '/'
    loader.batch_size = 2
    loader.num_workers = 0
    loader.persistent_workers = False
    for step in loader.dataset.pipeline:
        if step['type'] == 'Resize':
            step['scale'] = (128, 96)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=MAX_EPOCHS,
                         val_interval=100)
    # Warm-up over the whole run, then a step: lr changes every iteration.
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
             end=3 * ITERS_PER_EPOCH),
        dict(type='MultiStepLR', begin=0, end=MAX_EPOCHS, by_epoch=True,
             milestones=[2], gamma=0.1)
    ]
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.custom_hooks = []
    return cfg


RECIPES = {'swav': _swav_config, 'faster_rcnn': _faster_rcnn_config}


@pytest.fixture(scope='module')
def tiny_data(synthetic_set):
    # 16 unlabeled images (4 SwAV iterations an epoch at batch 4) and 8
    # labeled ones (4 Faster R-CNN iterations at batch 2).
    return synthetic_set('kill_resume_data', num_unlabeled=16, num_train=8,
                         num_val=2, num_test=0, size=(64, 96))


def _write_config(repo_root, tmp_path, recipe, data_root):
    cfg = RECIPES[recipe](repo_root, data_root)
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=-1)
    cfg.custom_hooks = list(cfg.custom_hooks) + [
        dict(type='EpochSeedHook'),
        dict(type='NonFiniteLossHook')
    ]
    path = str(tmp_path / f'{recipe}_kill_resume.py')
    cfg.dump(path)
    return path


def _command(repo_root, config, work_dir, *extra):
    return [
        sys.executable,
        osp.join(repo_root, 'tools', 'train.py'), config, '--work-dir',
        str(work_dir), *extra
    ]


def _env():
    return {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'}


def _run(repo_root, config, work_dir, *extra):
    proc = subprocess.run(
        _command(repo_root, config, work_dir, *extra),
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env=_env())
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    return log


def _run_and_kill(repo_root, config, work_dir, log_path):
    """Start training, SIGKILL it at iteration 2 of the last epoch."""
    mid_epoch = re.compile(r'Epoch\(train\)\s+\[%d\]\[\s*2/%d\]' %
                           (MAX_EPOCHS, ITERS_PER_EPOCH))
    with open(log_path, 'w') as log_file:
        proc = subprocess.Popen(
            _command(repo_root, config, work_dir),
            cwd=repo_root,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=_env())
        deadline = time.monotonic() + RUN_TIMEOUT
        try:
            while time.monotonic() < deadline and proc.poll() is None:
                with open(log_path) as f:
                    if mid_epoch.search(f.read()):
                        break
                time.sleep(0.02)
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    with open(log_path) as f:
        log = f.read()
    assert proc.returncode == -signal.SIGKILL, (
        f'training was not killed mid-epoch (exit {proc.returncode}):\n' +
        log[-4000:])
    return log


def _scalars(work_dir):
    """lr (and loss) per iteration from every run's vis_data/scalars.json."""
    records = {}
    for path in sorted(
            glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'lr' in rec:
                    records[rec['iter']] = rec
    return records


def _assert_tensors_close(a, b, where):
    if torch.is_tensor(a):
        assert torch.is_tensor(b), where
        assert a.shape == b.shape, where
        if a.is_floating_point():
            assert torch.allclose(a, b, rtol=1e-5, atol=1e-6), (
                f'{where}: max diff {(a - b).abs().max().item()}')
        else:
            assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            _assert_tensors_close(a[key], b[key], f'{where}.{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_tensors_close(x, y, f'{where}[{i}]')
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-6), where
    else:
        assert a == b, where


@pytest.mark.slow
@pytest.mark.parametrize('recipe', ['swav', 'faster_rcnn'])
def test_kill_mid_epoch_then_resume_matches_uninterrupted(
        repo_root, tmp_path, tiny_data, recipe):
    config = _write_config(repo_root, tmp_path, recipe, tiny_data)
    last_iter = MAX_EPOCHS * ITERS_PER_EPOCH
    ckpt_iter = (MAX_EPOCHS - 1) * ITERS_PER_EPOCH

    reference = tmp_path / 'uninterrupted'
    _run(repo_root, config, reference)

    work = tmp_path / 'interrupted'
    _run_and_kill(repo_root, config, work, str(tmp_path / 'killed.log'))
    last = f'epoch_{MAX_EPOCHS - 1}.pth'
    # Killed after the checkpoint of the previous epoch, mid-epoch.
    assert (work / 'last_checkpoint').read_text().endswith(last)
    assert not (work / f'epoch_{MAX_EPOCHS}.pth').exists()
    killed_at = max(_scalars(str(work)))
    assert ckpt_iter < killed_at < last_iter

    log = _run(repo_root, config, work, '--resume')
    assert f'resumed epoch: {MAX_EPOCHS - 1}, iter: {ckpt_iter}' in log
    if recipe == 'swav':
        assert 'SwAV queue restored from the checkpoint' in log

    # The lr schedule continues exactly, iteration by iteration.
    ref_scalars, scalars = _scalars(str(reference)), _scalars(str(work))
    assert sorted(ref_scalars) == list(range(1, last_iter + 1))
    assert sorted(scalars) == list(range(1, last_iter + 1))
    for it in range(1, last_iter + 1):
        assert scalars[it]['lr'] == pytest.approx(
            ref_scalars[it]['lr'], rel=1e-9), f'lr at iteration {it}'
    # The loss after the resume too (same data, augmentations, weights).
    for it in range(ckpt_iter + 1, last_iter + 1):
        assert scalars[it]['loss'] == pytest.approx(
            ref_scalars[it]['loss'], rel=1e-4, abs=1e-5), f'loss at {it}'

    final = f'epoch_{MAX_EPOCHS}.pth'
    ref = load_checkpoint_file(str(reference / final))
    got = load_checkpoint_file(str(work / final))
    assert got['meta']['epoch'] == MAX_EPOCHS
    assert got['meta']['iter'] == last_iter
    _assert_tensors_close(got['state_dict'], ref['state_dict'], 'weights')
    _assert_tensors_close(got['optimizer'], ref['optimizer'], 'optimizer')
    _assert_tensors_close(got['param_schedulers'], ref['param_schedulers'],
                          'param_schedulers')
    if recipe == 'swav':
        assert got['swav_queue']['started_iter'] == ITERS_PER_EPOCH
        _assert_tensors_close(got['swav_queue'], ref['swav_queue'],
                              'swav_queue')


def test_amp_scaler_state_round_trips_through_a_checkpoint(tmp_path):
    """AmpOptimWrapper's GradScaler state survives save -> safe load ->
    load_state_dict (unit level: AMP itself needs a GPU)."""
    from unittest import mock

    from mmengine.optim import AmpOptimWrapper

    model = torch.nn.Linear(3, 2)

    def build():
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        with mock.patch(
                'mmengine.optim.optimizer.amp_optimizer_wrapper.'
                'is_cuda_available',
                return_value=True):
            wrapper = AmpOptimWrapper(optimizer=optimizer)
        # A scaler that works on the CPU, with the same state_dict layout.
        wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=2.**10)
        return wrapper

    wrapper = build()
    model(torch.ones(1, 3)).sum().backward()
    wrapper.optimizer.step()
    wrapper.loss_scaler._lazy_init_scale_growth_tracker(torch.device('cpu'))
    wrapper.loss_scaler.update(new_scale=512.)
    wrapper.loss_scaler._growth_tracker.fill_(7)
    state = wrapper.state_dict()
    assert state['loss_scaler']['scale'] == 512.
    assert state['loss_scaler']['_growth_tracker'] == 7

    path = str(tmp_path / 'amp.pth')
    torch.save(dict(optimizer=state), path)
    loaded = load_checkpoint_file(path)['optimizer']

    fresh = build()
    fresh.load_state_dict(loaded)
    assert fresh.loss_scaler.get_scale() == 512.
    assert fresh.loss_scaler._get_growth_tracker() == 7
    momentum = fresh.optimizer.state_dict()['state'][0]['momentum_buffer']
    expected = wrapper.optimizer.state_dict()['state'][0]['momentum_buffer']
    assert torch.equal(momentum, expected)
