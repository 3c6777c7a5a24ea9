"""Every config under configs/ loads and builds its model.

Family tests (tests/configs/) check the recipes' key values; this one only
guarantees that nothing under configs/ is broken, so it grows with the repo
by itself.
"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

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
