import os.path as osp
from types import SimpleNamespace

import pytest
from mmengine.config import Config

from custom_modules.engine.hooks import RequireLoadFromHook

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def test_refuses_a_run_without_weights():
    hook = RequireLoadFromHook(hint='pass load_from=X')
    with pytest.raises(RuntimeError, match='load_from is not set.*load_fr'):
        hook.before_run(SimpleNamespace(_load_from=None, _resume=False))


@pytest.mark.parametrize('load_from,resume', [('w.pth', False),
                                              (None, True)])
def test_accepts_weights_or_resume(load_from, resume):
    RequireLoadFromHook().before_run(
        SimpleNamespace(_load_from=load_from, _resume=resume))


@pytest.mark.parametrize('name', [
    'mocov2_resnet50_infomin-init_1xb32-coslr-100e_nuimages.py',
    'mocov2_resnet50_infomin-init_1xb32-coslr-100e_nuimages-5k.py',
    'mocov2_resnet18_1xb16-coslr-2e_synthetic.py',
])
def test_infomin_configs_require_weights(name):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'infomin', name))
    types = [h['type'] for h in cfg.custom_hooks]
    assert types[0] == 'RequireLoadFromHook'
