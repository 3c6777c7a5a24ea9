import pytest
import torch
from mmengine.config import Config


def test_mmselfsup_registries_resolve_loops_and_runners():
    from mmengine.registry import init_default_scope
    from mmengine.runner import EpochBasedTrainLoop, Runner
    from mmselfsup.registry import LOOPS, RUNNERS
    assert 'mmselfsup.engine.runner' not in RUNNERS._locations
    init_default_scope('mmselfsup')
    assert LOOPS.get('EpochBasedTrainLoop') is EpochBasedTrainLoop
    assert RUNNERS.get('Runner') is Runner


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a CPU-only host')
def test_amp_without_gpu_is_a_clear_error():
    from custom_modules.compat.launch import LaunchError, check_amp
    check_amp(False)
    with pytest.raises(LaunchError, match='needs a CUDA GPU'):
        check_amp(True)


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a CPU-only host')
def test_slurm_launcher_without_gpu_is_a_clear_error():
    from custom_modules.compat.launch import LaunchError, prepare_launch
    with pytest.raises(LaunchError, match='dist_train.sh'):
        prepare_launch(Config(dict(model=dict())), 'slurm')
    prepare_launch(Config(dict(model=dict())), 'none')  # nothing to do


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a CPU-only host')
def test_pytorch_launcher_on_cpu_uses_gloo(monkeypatch):
    import torch.distributed as dist

    from custom_modules.compat.launch import DeviceAgnosticDDP, prepare_launch
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


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a CPU-only host')
def test_syncbn_config_on_cpu_is_refused(monkeypatch):
    import torch.distributed as dist

    from custom_modules.compat.launch import LaunchError, prepare_launch
    for k, v in dict(
            RANK='0',
            WORLD_SIZE='1',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT='29532').items():
        monkeypatch.setenv(k, v)
    cfg = Config(
        dict(model=dict(backbone=dict(norm_cfg=dict(type='SyncBN')))))
    try:
        with pytest.raises(LaunchError, match='SyncBN'):
            prepare_launch(cfg, 'pytorch')
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
