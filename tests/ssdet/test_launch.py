"""The launch checks of ssdet.launch (and the CPU pieces of
custom_modules.compat.launch and the mmselfsup registry patch they rely
on)."""
import argparse
import os.path as osp
import shlex

import pytest
import torch
from mmengine.config import Config, DictAction

SWAV_4GPU = osp.normpath(
    osp.join(__file__, '..', '..', '..', 'configs', 'swav',
             'r50_4gpu.py'))


def test_mmselfsup_registries_resolve_loops_and_runners():
    from mmengine.registry import init_default_scope
    from mmengine.runner import EpochBasedTrainLoop, Runner
    from mmselfsup.registry import LOOPS, RUNNERS
    assert 'mmselfsup.engine.runner' not in RUNNERS._locations
    init_default_scope('mmselfsup')
    assert LOOPS.get('EpochBasedTrainLoop') is EpochBasedTrainLoop
    assert RUNNERS.get('Runner') is Runner


CPU_ONLY = pytest.mark.skipif(
    torch.cuda.is_available(), reason='needs a CPU-only host')


def swav_like():
    """A config shaped like configs/swav/r50_4gpu.py: AMP and SyncBN."""
    return Config(
        dict(
            default_scope='mmselfsup',
            model=dict(
                type='SwAV',
                backbone=dict(type='ResNet', norm_cfg=dict(type='SyncBN')),
                neck=dict(
                    type='SwAVNeck',
                    in_channels=8,
                    hid_channels=8,
                    out_channels=4,
                    norm_cfg=dict(type='SyncBN'))),
            optim_wrapper=dict(
                _scope_='mmselfsup',
                type='AmpOptimWrapper',
                loss_scale='dynamic',
                optimizer=dict(
                    _scope_='mmselfsup',
                    type='LARS',
                    lr=0.6,
                    momentum=0.9,
                    weight_decay=1e-6))),
        filename=SWAV_4GPU)


def refusal(cfg, **kwargs):
    from ssdet.launch import LaunchError, check_launch
    with pytest.raises(LaunchError) as info:
        check_launch(cfg, **kwargs)
    return str(info.value)


def suggested(message):
    """The ``--cfg-options`` of the message's last line, as DictAction
    parses them."""
    *_, last = message.splitlines()
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(shlex.split(last)).cfg_options


@CPU_ONLY
def test_check_launch_lists_everything_in_one_message():
    from ssdet.launch import check_launch
    cfg = swav_like()
    message = refusal(cfg, launcher='pytorch', nproc=4)
    lines = message.splitlines()
    assert lines[0] == (f'{SWAV_4GPU} cannot run as written on this machine: '
                        '4 processes asked for, 0 CUDA GPUs here.')
    assert "optim_wrapper.type='AmpOptimWrapper' (from the config)" in lines[1]
    assert "model.backbone.norm_cfg.type='SyncBN' (from the config)" in (
        lines[2])
    assert "model.neck.norm_cfg.type='SyncBN'" in lines[3]
    assert lines[4] == 'To run it here on 4 processes (CPU), add:'
    assert '--amp' not in message  # not given, so not named
    options = suggested(message)
    assert options == {
        'optim_wrapper._delete_': True,
        'optim_wrapper.type': 'OptimWrapper',
        'optim_wrapper.optimizer.type': 'LARS',
        'optim_wrapper.optimizer.lr': 0.6,
        'optim_wrapper.optimizer.momentum': 0.9,
        'optim_wrapper.optimizer.weight_decay': 1e-6,
        'model.backbone.norm_cfg.type': 'BN',
        'model.neck.norm_cfg.type': 'BatchNormXd',
    }
    # The suggestion is the whole fix: merged, the config passes, its
    # optimizer wrapper builds on the CPU, and the neck's norm, which follows
    # a linear layer (where 'BN' would refuse the 2-D input), trains.
    from mmengine.optim import OptimWrapper, build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmselfsup.registry import MODELS
    cfg.merge_from_dict(options)
    check_launch(cfg, launcher='pytorch', nproc=4, cfg_options=options)
    with DefaultScope.overwrite_default_scope('mmselfsup'):
        wrapper = build_optim_wrapper(torch.nn.Linear(2, 1), cfg.optim_wrapper)
        neck = MODELS.build(cfg.model.neck)
    assert type(wrapper) is OptimWrapper
    assert type(wrapper.optimizer).__name__ == 'LARS'
    neck.train()
    out, = neck([(torch.randn(4, 8, 2, 2), )])
    assert out.shape == (4, 4)


@CPU_ONLY
def test_check_launch_names_where_a_setting_comes_from():
    from ssdet.launch import check_launch

    # --amp on a config without AMP: the flag is the only thing to drop.
    plain = Config(
        dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict())))
    message = refusal(plain, amp=True)
    assert '--amp asks for mixed precision' in message
    assert 'leave --amp out' in message
    assert '--cfg-options' not in message
    check_launch(plain)

    # AMP from --cfg-options: leave it out rather than override it.
    given = {'optim_wrapper.type': 'AmpOptimWrapper'}
    plain.merge_from_dict(dict(given, **{'optim_wrapper.loss_scale': 1.0}))
    message = refusal(plain, cfg_options=given)
    assert "'AmpOptimWrapper' (from --cfg-options)" in message
    assert 'leave it out of --cfg-options' in message
    assert 'To run it here' not in message

    # --amp on the config that asks for AMP itself: both are named.
    message = refusal(swav_like(), amp=True)
    assert 'leave --amp out' in message
    assert "'AmpOptimWrapper' (from the config)" in message
    assert 'do the above and add:' in message


@CPU_ONLY
def test_check_launch_finds_syncbn_in_lists_and_sync_bn():
    from ssdet.launch import check_launch
    cfg = Config(
        dict(
            model=dict(
                roi_head=dict(bbox_head=[
                    dict(norm_cfg=dict(type='BN')),
                    dict(norm_cfg=dict(type='MMSyncBN', requires_grad=True))
                ])),
            sync_bn='torch'))
    message = refusal(cfg, launcher='pytorch', nproc=2)
    options = suggested(message)
    assert options == {
        'model.roi_head.bbox_head.1.norm_cfg.type': 'BatchNormXd',
        'sync_bn': None
    }
    cfg.merge_from_dict(options)
    assert cfg.model.roi_head.bbox_head[1].norm_cfg == dict(
        type='BatchNormXd', requires_grad=True)
    check_launch(cfg, launcher='pytorch', nproc=2)


@CPU_ONLY
def test_check_launch_allows_what_runs_here():
    from ssdet.launch import check_launch

    # One process: mmengine reverts SyncBN to BatchNorm by itself.
    check_launch(Config(dict(model=swav_like().model)))
    # Testing builds no optimizer and synchronises no batch statistics.
    check_launch(swav_like(), launcher='pytorch', nproc=4, training=False)


@CPU_ONLY
def test_cluster_launcher_without_gpu_is_refused():
    message = refusal(Config(dict(model=dict())), launcher='slurm', nproc=4)
    assert '--launcher slurm starts one process per GPU' in message
    assert 'tools/dist_train.sh CONFIG N' in message


def test_more_processes_than_gpus_is_refused(monkeypatch):
    from ssdet.launch import check_launch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    message = refusal(swav_like(), launcher='pytorch', nproc=4)
    assert message.splitlines()[0].endswith(
        '4 processes asked for, 2 CUDA GPUs here.')
    assert 'start at most 2' in message
    assert 'AmpOptimWrapper' not in message and 'SyncBN' not in message
    check_launch(swav_like(), launcher='pytorch', nproc=2)


@CPU_ONLY
def test_optimizer_the_command_line_cannot_write_is_given_as_config():
    cfg = swav_like()
    cfg.optim_wrapper.paramwise_cfg = dict(
        custom_keys={'backbone.layer1': dict(lr_mult=0.1)})
    message = refusal(cfg)
    assert 'write a config that inherits this one and sets\n' in message
    assert '      optim_wrapper = dict(\n' in message
    assert "type='OptimWrapper'" in message
    assert "'backbone.layer1'" in message
    assert 'loss_scale' not in message
    assert '--cfg-options' not in message


def test_launch_errors_are_printed_once_per_machine(monkeypatch, capsys):
    from ssdet.launch import exit_with_error
    for rank, printed in (('1', ''), ('0', 'error: stop\n')):
        monkeypatch.setenv('LOCAL_RANK', rank)
        with pytest.raises(SystemExit) as info:
            exit_with_error('error: stop', 'pytorch', wait=0)
        assert info.value.code == 1
        assert capsys.readouterr().err == printed
    monkeypatch.setenv('SLURM_LOCALID', '3')
    with pytest.raises(SystemExit):
        exit_with_error('error: stop', 'slurm', wait=0)
    assert capsys.readouterr().err == ''


def test_pytorch_launcher_outside_torchrun_is_refused(monkeypatch):
    from ssdet.launch import LaunchError, prepare_launch
    monkeypatch.delenv('RANK', raising=False)
    with pytest.raises(LaunchError, match='tools/dist_train.sh'):
        prepare_launch(Config(dict(model=dict())), 'pytorch')
    prepare_launch(Config(dict(model=dict())), 'none')  # nothing to do


@CPU_ONLY
def test_pytorch_launcher_on_cpu_uses_gloo(monkeypatch):
    import torch.distributed as dist

    from custom_modules.compat.launch import DeviceAgnosticDDP
    from ssdet.launch import prepare_launch
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', '29531')
    cfg = Config(dict(model=dict(type='X'), find_unused_parameters=True))
    try:
        prepare_launch(cfg, 'pytorch')
        assert dist.get_backend() == 'gloo'
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.model_wrapper_cfg.type == 'DeviceAgnosticDDP'
        assert cfg.model_wrapper_cfg.find_unused_parameters is True
        wrapped = DeviceAgnosticDDP(
            module=torch.nn.Linear(2, 1), device_ids=[0])
        assert wrapped.device_ids is None
    finally:
        dist.destroy_process_group()


def test_config_for_launch_refuses_a_missing_checkpoint(repo_root, tmp_path,
                                                        capsys):
    from ssdet.launch import config_for_launch
    args = argparse.Namespace(
        config=f'{repo_root}/configs/demo/faster-rcnn_r18_fpn_synthetic.py',
        launcher='none',
        local_rank=0,
        work_dir=None,
        cfg_options=None,
        preflight=False)
    missing = tmp_path / 'missing.pth'
    with pytest.raises(SystemExit) as info:
        config_for_launch(args, training=False, checkpoint=str(missing))
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err == f'error: checkpoint {missing} not found\n'


def test_finish_launch_frees_what_holds_the_group():
    """A DDP wrapper in a reference cycle (as mmengine's runner keeps it)
    holds the gloo group: finish_launch ends the group and frees the
    wrapper while the interpreter is alive."""
    import gc
    import weakref

    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from ssdet.launch import finish_launch
    if dist.is_initialized():
        pytest.skip('a process group is already running in this process')
    dist.init_process_group(
        'gloo', store=dist.HashStore(), rank=0, world_size=1)
    ddp = DistributedDataParallel(torch.nn.Linear(2, 2))
    ddp.cycle = [ddp]  # only the cycle collector frees it
    alive = weakref.ref(ddp)
    del ddp
    gc.disable()
    try:
        finish_launch()
        assert not dist.is_initialized()
        assert alive() is None
    finally:
        gc.enable()
