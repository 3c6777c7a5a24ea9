"""The pretraining pipelines on real photographs: the tiny SwAV
(multi-crop) and InfoMin/MoCo configs train a few iterations through
tools/train.py on the 75 KITTI frames as an unlabeled pool, which also
holds a truncated copy of one frame (a logged, counted skip)."""
import math
import re

import pytest

from custom_modules.compat.checkpoint import load_checkpoint_file

pytestmark = pytest.mark.slow

SWAV = ('configs/swav/'
        'swav_resnet18_1xb16-mcrop-2-4-coslr-3e_synthetic-64-32_64p.py')
MOCO = 'configs/infomin/mocov2_resnet18_1xb16-coslr-2e_synthetic.py'
BATCH = 16  # both configs'
# 76 files, 4 full batches an epoch (the last partial batch is dropped; the
# truncated file's place is taken by another draw)
ITERS_PER_EPOCH = 76 // BATCH


def pool_options(pool, epochs):
    return [
        f'train_dataloader.dataset.data_root={pool}/',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        f'train_cfg.max_epochs={epochs}', 'default_hooks.logger.interval=1',
        'log_processor.window_size=1', 'randomness.seed=0'
    ]


def assert_truncated_frame_skipped(out, epochs):
    assert re.search(
        r'skipping unreadable image \S*zz_truncated\.png: OSError', out)
    for epoch in range(1, epochs + 1):
        # one skip an epoch, counted by SkippedImagesReportHook
        assert re.search(
            rf'epoch {epoch}: 1 unreadable image\(s\) skipped \({epoch} '
            'since the start', out), out[-3000:]


def test_swav_multicrop_on_photographs(run_tool, train_losses, kitti75_pool,
                                       tmp_path):
    work = tmp_path / 'swav'
    epochs = 3
    # the config's queue (128 embeddings = 8 batches, from epoch 1) and
    # collapse guard (watching after 100 iterations), stopping the run if
    # it fires
    rc, out = run_tool('train.py', SWAV, '--work-dir', work, '--cfg-options',
                       *pool_options(kitti75_pool, epochs),
                       'custom_hooks.1.stop=True')
    assert rc == 0, out[-4000:]
    assert_truncated_frame_skipped(out, epochs)
    assert ('SwAV queue started at epoch 1 (epoch 1, iter '
            f'{ITERS_PER_EPOCH})') in out
    assert 'SwAV: "prototypes" trainable from iter 10' in out
    assert 'SwAV collapse' not in out

    losses = train_losses(work)
    assert len(losses) == epochs * ITERS_PER_EPOCH
    assert all(math.isfinite(v) for v in losses), losses
    # the swapped-prediction loss of 64 prototypes starts at ln(64) = 4.16
    # (measured on these frames: 4.22, and within 1 % of ln(64) for the
    # first 48 iterations: the guard's warm-up is what keeps it quiet)
    assert abs(losses[0] - math.log(64)) < 0.05 * math.log(64), losses

    state = load_checkpoint_file(str(work / f'epoch_{epochs}.pth'))
    queue = state['swav_queue']
    assert queue['started_iter'] == ITERS_PER_EPOCH
    # 8 batches since the start: every slot of both assignment crops holds
    # an embedding of a real crop (unit length)
    norms = queue['queues'][0].norm(dim=-1)
    assert queue['queues'].shape[:3] == (1, 2, 128)
    assert ((norms - 1).abs() < 1e-3).all()


def test_moco_on_photographs(run_tool, train_losses, kitti75_pool,
                             r18_torchvision, tmp_path):
    from ssdet.checkpoints import convert
    moco_init = str(tmp_path / 'r18_moco.pth')
    convert(
        r18_torchvision,
        moco_init,
        src_format='torchvision',
        target='mmselfsup-moco')
    work = tmp_path / 'moco'
    epochs = 2
    rc, out = run_tool('train.py', MOCO, '--work-dir', work, '--cfg-options',
                       f'load_from={moco_init}',
                       *pool_options(kitti75_pool, epochs))
    assert rc == 0, out[-4000:]
    assert f'Load checkpoint from {moco_init}' in out
    assert_truncated_frame_skipped(out, epochs)

    losses = train_losses(work)
    iters = epochs * ITERS_PER_EPOCH
    assert len(losses) == iters
    # InfoNCE over the 256 queued keys and the positive: ln(257) = 5.55
    # is chance; finite and near it this early
    assert all(math.isfinite(v) and 0 < v < 2 * math.log(257)
               for v in losses), losses
    state = load_checkpoint_file(str(work / f'epoch_{epochs}.pth'))
    model = state['state_dict']
    # the queue took the keys of every iteration, from position 0
    assert int(model['queue_ptr']) == iters * BATCH % 256
    assert int(model['encoder_k.steps']) == iters
