"""Every config under configs/ loads, builds its model and logs to files
and TensorBoard.

Family tests (tests/configs/) check the recipes' key values; this one only
guarantees that nothing under configs/ is broken, so it grows with the repo
by itself.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import VISUALIZERS, init_default_scope

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if f'{osp.sep}_base_{osp.sep}' not in p)


def test_configs_are_found():
    families = {p.split(osp.sep)[1] for p in CONFIGS}
    assert {'demo', 'faster_rcnn', 'swav'} <= families


@pytest.mark.parametrize('path', CONFIGS)
def test_config_loads_and_builds(path):
    cfg = Config.fromfile(osp.join(ROOT, path))
    scope = cfg.get('default_scope')
    assert scope in ('mmdet', 'mmselfsup'), f'{path}: default_scope {scope}'
    if 'custom_imports' in cfg or not path.startswith('configs/benchmarks'):
        # Stock baselines for the benchmark may leave our package out.
        assert cfg.custom_imports.imports == ['custom_modules'], path
        assert not cfg.custom_imports.get('allow_failed_imports', False)
    init_default_scope(scope)
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmselfsup.registry import MODELS
    model_cfg = cfg.model.copy()
    if scope == 'mmselfsup' and model_cfg.backbone.get(
            'norm_cfg', {}).get('type') == 'SyncBN':
        # SyncBN needs a process group; the layer layout is the same.
        model_cfg.backbone.norm_cfg = dict(type='BN')
    model = MODELS.build(model_cfg)
    assert sum(p.numel() for p in model.parameters()) > 0
    # No absolute or personal paths in a config.
    text = open(osp.join(ROOT, path)).read()
    assert '/home/' not in text and '/work/' not in text, path


@pytest.mark.parametrize(
    'path', [p for p in CONFIGS if not p.startswith('configs/benchmarks')])
def test_config_logs_scalars_to_files_and_tensorboard(path, tmp_path):
    # Stock baselines for the benchmark keep upstream's runtime.
    cfg = Config.fromfile(osp.join(ROOT, path))
    init_default_scope(cfg.default_scope)
    visualizer = VISUALIZERS.build(
        dict(cfg.visualizer, name=path, save_dir=str(tmp_path)))
    backends = [type(b).__name__ for b in visualizer._vis_backends.values()]
    assert backends == ['LocalVisBackend', 'TensorboardVisBackend'], path
    visualizer.add_scalars(dict(loss=1.0), step=1)
    visualizer.close()
    assert (tmp_path / 'vis_data' / 'scalars.json').is_file()
    assert list((tmp_path / 'vis_data').glob('events.out.tfevents.*'))


class _ToyModel(torch.nn.Module):
    """A linear model that ``Runner.train`` accepts."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)
        self.data_preprocessor = torch.nn.Identity()

    def train_step(self, data, optim_wrapper):
        loss = self.fc(data).pow(2).mean()
        optim_wrapper.update_params(loss)
        return dict(loss=loss.detach())


def test_a_run_writes_tensorboard_events_and_the_scalars_plots_read(
        tmp_path):
    from mmengine.runner import Runner

    from ssdet.analysis.logs import load_log
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'demo', 'faster-rcnn_r18_fpn_synthetic.py'))
    runner = Runner(
        model=_ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=torch.randn(8, 2),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        visualizer=dict(cfg.visualizer, name='toy_run'),
        default_scope='mmdet')
    runner.train()
    vis_data = glob.glob(str(tmp_path / '*' / 'vis_data'))
    assert len(vis_data) == 1
    assert glob.glob(osp.join(vis_data[0], 'events.out.tfevents.*'))
    # tools/analysis/plot_curves.py reads the scalars of the same run
    assert len(load_log(str(tmp_path)).train) == 4
