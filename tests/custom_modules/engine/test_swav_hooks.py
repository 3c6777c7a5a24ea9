"""SwAV hooks on a real mmengine Runner with a toy model and the real
``SwAVHead``/``SwAVLoss`` (as mmselfsup tests its ``SwAVHook``)."""
import math
import os.path as osp
from typing import Callable, List, Optional

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmselfsup.models.heads import SwAVHead
from torch.utils.data import Dataset

from custom_modules.compat.checkpoint import load_checkpoint_file
from custom_modules.conventions import PretrainConventions
from custom_modules.engine.hooks import (PretrainMetaHook,
                                         SkippedImagesReportHook,
                                         SwAVCollapseError,
                                         SwAVCollapseGuardHook, SwAVQueueHook)
from custom_modules.engine.hooks.utils import get_swav_loss

FEAT_DIM = 8
NUM_PROTOTYPES = 8
BATCH = 4
NUM_SAMPLES = 16  # 4 iterations an epoch


class ClusterDataset(Dataset):
    """Two noisy views of one of four cluster centres."""

    def __init__(self, num=NUM_SAMPLES, dim=6, seed=0):
        rng = np.random.RandomState(seed)
        centres = rng.randn(4, dim) * 3
        self.views = []
        for i in range(num):
            c = centres[i % 4]
            self.views.append(
                torch.tensor(
                    np.stack([c + rng.randn(dim) * 0.3 for _ in range(2)]),
                    dtype=torch.float32))

    def __len__(self):
        return len(self.views)

    def __getitem__(self, idx):
        return dict(inputs=self.views[idx])


class ToySwAV(BaseModel):
    """backbone (linear) -> l2-normalised embedding -> real SwAVHead.

    ``script(i)``, if set, replaces the loss value of training step ``i``
    (the gradient stays the real one), to drive the loss-watching hooks.
    """

    def __init__(self, script: Optional[Callable[[int], float]] = None):
        super().__init__()
        self.backbone = nn.Linear(6, FEAT_DIM)
        self.head = SwAVHead(
            loss=dict(
                type='SwAVLoss',
                feat_dim=FEAT_DIM,
                num_prototypes=NUM_PROTOTYPES,
                num_crops=[2],
                crops_for_assign=[0, 1]))
        self.script = script
        self.steps = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.cat([inputs[:, 0], inputs[:, 1]])
        emb = F.normalize(self.backbone(x), dim=1)
        if mode != 'loss':
            return emb
        loss = self.head(emb)
        if self.script is not None:
            loss = loss - loss.detach() + self.script(self.steps)
        self.steps += 1
        return dict(loss=loss)


class Probe(Hook):
    """Records, per iteration, what the SwAV loss sees."""

    priority = 'LOWEST'

    def __init__(self):
        self.queue_present: List[bool] = []
        self.use_queue: List[bool] = []
        self.proto_grad: List[bool] = []
        self.epoch_start_queues: List[Optional[torch.Tensor]] = []

    def before_train_epoch(self, runner):
        q = get_swav_loss(runner.model).queue
        self.epoch_start_queues.append(None if q is None else q.clone())

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        loss = get_swav_loss(runner.model)
        self.queue_present.append(loss.queue is not None)
        self.proto_grad.append(loss.prototypes.weight.requires_grad)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.use_queue.append(bool(get_swav_loss(runner.model).use_queue))


def make_runner(work_dir,
                hooks,
                max_epochs=3,
                model=None,
                resume=False,
                load_from=None,
                name='run'):
    return Runner(
        model=model or ToySwAV(),
        work_dir=str(work_dir),
        experiment_name=f'{osp.basename(str(work_dir))}_{name}',
        train_dataloader=dict(
            dataset=ClusterDataset(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            batch_size=BATCH,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        custom_hooks=hooks,
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0),
        default_scope='mmselfsup',
        resume=resume,
        load_from=load_from,
        log_level='WARNING')


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmselfsup')


def test_queue_starts_at_epoch_fills_and_is_used(tmp_path):
    hook = SwAVQueueHook(queue_length=16, epoch_queue_starts=1)
    probe = Probe()
    runner = make_runner(tmp_path, [hook, probe])
    runner.train()
    assert hook.started_iter == 4
    # No queue in epoch 0, a queue from the first iteration of epoch 1.
    assert probe.queue_present == [False] * 4 + [True] * 8
    # 16 slots / batch 4: filled during iterations 4-7, used from 8 on.
    assert probe.use_queue == [False] * 8 + [True] * 4
    queue = get_swav_loss(runner.model).queue
    assert queue.shape == (2, 16, FEAT_DIM)
    assert queue.device == next(runner.model.parameters()).device
    norms = queue.norm(dim=-1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)


def test_queue_length_trimmed_to_the_batch(tmp_path):
    hook = SwAVQueueHook(queue_length=18, epoch_queue_starts=0)
    make_runner(tmp_path / 'a', [hook], max_epochs=1).train()
    assert hook.queue_length == 16 and hook.queue.shape[1] == 16
    with pytest.raises(ValueError, match='multiple of the global batch'):
        make_runner(
            tmp_path / 'b',
            [SwAVQueueHook(queue_length=3, epoch_queue_starts=0)],
            max_epochs=1).train()
    with pytest.raises(ValueError, match='epoch_queue_starts'):
        SwAVQueueHook(epoch_queue_starts=None)


def test_prototypes_frozen_for_the_first_iterations(tmp_path):
    hook = SwAVQueueHook(
        queue_length=0,
        epoch_queue_starts=0,
        frozen_layers_cfg=dict(prototypes=3))
    probe = Probe()
    runner = make_runner(tmp_path, [hook, probe], max_epochs=2)
    before = get_swav_loss(runner.model).prototypes.weight.detach().clone()
    runner.train()
    assert probe.proto_grad == [False] * 3 + [True] * 5
    after = get_swav_loss(runner.model).prototypes.weight.detach()
    assert not torch.allclose(F.normalize(before, dim=1), after)
    assert probe.queue_present == [False] * 8  # queue_length=0: no queue


def test_queue_survives_resume(tmp_path):
    hook = SwAVQueueHook(queue_length=16, epoch_queue_starts=1)
    runner = make_runner(tmp_path, [hook], max_epochs=2)
    runner.train()
    final = get_swav_loss(runner.model).queue.detach().clone()
    ckpt = load_checkpoint_file(str(tmp_path / 'epoch_2.pth'))
    state = ckpt['swav_queue']
    assert state['started_iter'] == 4 and state['world_size'] == 1
    assert state['queues_iter'] == ckpt['meta']['iter'] == 8
    assert state['queues'].shape == (1, 2, 16, FEAT_DIM)
    torch.testing.assert_close(state['queues'][0], final)
    # The epoch-1 checkpoint holds the queue of epoch 1, not the latest.
    ckpt1 = load_checkpoint_file(str(tmp_path / 'epoch_1.pth'))
    assert 'queues' not in ckpt1['swav_queue']  # not started yet

    resumed_hook = SwAVQueueHook(queue_length=16, epoch_queue_starts=1)
    probe = Probe()
    resumed = make_runner(
        tmp_path, [resumed_hook, probe],
        max_epochs=3,
        resume=True,
        load_from=str(tmp_path / 'epoch_2.pth'),
        name='resumed')
    resumed.train()
    assert resumed_hook.started_iter == 4
    torch.testing.assert_close(probe.epoch_start_queues[0], final)
    # Full on arrival: used from the first iteration after the resume.
    assert probe.use_queue == [True] * 4


def test_resume_redistributes_or_rebuilds_a_mismatched_queue(tmp_path):
    hook = SwAVQueueHook(queue_length=16, epoch_queue_starts=0)
    make_runner(tmp_path, [hook], max_epochs=1).train()
    ckpt = load_checkpoint_file(str(tmp_path / 'epoch_1.pth'))
    queues = ckpt['swav_queue']['queues']
    # Saved by 2 ranks of 8 each -> one rank of 16: concatenated.
    halves = queues.reshape(1, 2, 2, 8, FEAT_DIM)[0].transpose(0, 1)
    ckpt['swav_queue']['queues'] = halves
    ckpt['swav_queue']['world_size'] = 2
    torch.save(ckpt, str(tmp_path / 'two_ranks.pth'))
    probe = Probe()
    make_runner(
        tmp_path,
        [SwAVQueueHook(queue_length=16, epoch_queue_starts=0), probe],
        max_epochs=2,
        resume=True,
        load_from=str(tmp_path / 'two_ranks.pth'),
        name='two').train()
    torch.testing.assert_close(probe.epoch_start_queues[0], queues[0])
    # A different global length: an empty queue, refilled before use.
    probe = Probe()
    make_runner(
        tmp_path, [SwAVQueueHook(queue_length=8, epoch_queue_starts=0), probe],
        max_epochs=2,
        resume=True,
        load_from=str(tmp_path / 'epoch_1.pth'),
        name='short').train()
    assert probe.epoch_start_queues[0].abs().sum() == 0
    assert probe.use_queue == [False, False, True, True]  # 8 = 2 batches


def adaptive_queue(epoch_queue_starts=None) -> SwAVQueueHook:
    """A queue of 16 that starts after 3 iterations below 0.9 ln(K)."""
    return SwAVQueueHook(
        queue_length=16,
        epoch_queue_starts=epoch_queue_starts,
        adaptive_loss_ratio=0.9,
        adaptive_patience=3)


def _falls_at(step: int) -> Callable[[int], float]:
    ln_k = math.log(NUM_PROTOTYPES)
    return lambda i: ln_k if i < step else 0.5 * ln_k


def test_adaptive_start_fires_when_the_loss_stays_low(tmp_path):
    hook = adaptive_queue()
    probe = Probe()
    make_runner(tmp_path, [hook, probe], model=ToySwAV(_falls_at(5))).train()
    # Low from step 5; three low steps (5, 6, 7) -> queue from iter 8.
    assert hook.started_iter == 8
    assert probe.queue_present == [False] * 8 + [True] * 4


def test_adaptive_start_waits_and_epoch_start_still_applies(tmp_path):
    ln_k = math.log(NUM_PROTOTYPES)
    # Dips for 2 steps only (< patience 3), then stays at ln(K).
    flicker = ToySwAV(lambda i: 0.5 * ln_k if i in (2, 3) else ln_k)
    hook = adaptive_queue()
    make_runner(tmp_path / 'a', [hook], model=flicker).train()
    assert hook.started_iter is None and hook.queue is None
    both = adaptive_queue(epoch_queue_starts=2)
    make_runner(tmp_path / 'b', [both], model=ToySwAV(lambda i: ln_k)).train()
    assert both.started_iter == 8  # the epoch start, whichever comes first


def test_adaptive_start_state_survives_resume(tmp_path):
    hook = adaptive_queue()
    make_runner(
        tmp_path, [hook], model=ToySwAV(_falls_at(1)), max_epochs=1).train()
    assert hook.started_iter == 4
    resumed = adaptive_queue()
    probe = Probe()
    ln_k = math.log(NUM_PROTOTYPES)
    make_runner(
        tmp_path,
        [resumed, probe],
        model=ToySwAV(lambda i: ln_k),  # would never trigger again
        max_epochs=2,
        resume=True,
        load_from=str(tmp_path / 'epoch_1.pth'),
        name='resumed').train()
    assert resumed.started_iter == 4
    assert probe.queue_present == [True] * 4


class UniformSwAV(ToySwAV):
    """Zero prototypes: every score is 0, the codes and the predictions are
    uniform, and the real SwAV loss is exactly ln(K)."""

    def __init__(self):
        super().__init__()
        nn.init.zeros_(self.head.loss.prototypes.weight)
        self.head.loss.prototypes.weight.requires_grad = False


def test_guard_fires_on_a_forced_uniform_loss(tmp_path):
    guard = SwAVCollapseGuardHook(warmup_iters=2, patience=3, stop=True)
    runner = make_runner(tmp_path / 'a', [guard], model=UniformSwAV())
    with pytest.raises(SwAVCollapseError) as info:
        runner.train()
    msg = str(info.value)
    assert 'ln(K) = 2.0794' in msg and 'K = 8 prototypes' in msg
    for remedy in ('epsilon', 'loss scaling', 'queue later'):
        assert remedy in msg
    assert guard.collapses == [4]  # iterations 2, 3, 4 in the band

    quiet = SwAVCollapseGuardHook(warmup_iters=2, patience=3, stop=False)
    make_runner(tmp_path / 'b', [quiet], model=UniformSwAV()).train()
    assert quiet.collapses == [4]  # reported once, the run goes on


def test_guard_is_quiet_on_a_healthy_run(tmp_path):
    guard = SwAVCollapseGuardHook(warmup_iters=2, patience=3, stop=True)
    queue = SwAVQueueHook(queue_length=16, epoch_queue_starts=1)
    make_runner(tmp_path, [queue, guard], max_epochs=4).train()
    assert guard.collapses == [] and guard.count < 3


def test_pretrain_meta_in_checkpoint(tmp_path, repo_root):
    from mmengine.config import Config
    from mmselfsup.registry import MODELS
    cfg = Config.fromfile(
        osp.join(
            repo_root, 'configs', 'swav',
            'swav_resnet18_1xb16-mcrop-2-4-coslr-3e_synthetic-64-32_64p.py'))
    model = MODELS.build(cfg.model)
    info = PretrainConventions.from_model(model).to_dict()
    assert info['mean'] == pytest.approx([123.675, 116.28, 103.53])
    assert info['std'] == pytest.approx([58.395, 57.12, 57.375])
    assert info['bgr_to_rgb'] is True
    assert (info['depth'], info['norm'], info['style']) == (18, 'BN',
                                                            'pytorch')
    # The stem in the vocabulary the converter and the detector use.
    assert info['stem'] == '7x7'
    # The same record as the config it was built from says.
    assert PretrainConventions.from_cfg(
        cfg.model.data_preprocessor,
        cfg.model.backbone).compare(PretrainConventions.from_dict(info)) == []

    make_runner(tmp_path, [PretrainMetaHook()], max_epochs=1).train()
    meta = load_checkpoint_file(str(tmp_path / 'epoch_1.pth'))['meta']
    assert 'depth' not in meta['pretrain_cfg']  # unknown -> left out
    assert meta['pretrain_cfg']['basis'].startswith('the pretraining run')


def test_skipped_images_report_hook_has_no_loader_warning(tmp_path):
    hook = SkippedImagesReportHook()
    make_runner(tmp_path, [hook], max_epochs=2).train()
    assert hook.per_epoch == [0, 0]
