"""Loading configs and checking ``--cfg-options`` before they are merged."""
import pytest
from mmengine.config import Config

from ssdet.config import (ConfigKeyError, apply_cli_options, check_cfg_options,
                          load_config, merge_cfg_options)


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / 'cfg.py'
    path.write_text('train_cfg = dict(max_epochs=12, val_interval=1)\n'
                    'model = dict(backbone=dict(depth=18, init_cfg=None),\n'
                    '             heads=[dict(num_classes=3)])\n')
    return Config.fromfile(str(path))


@pytest.mark.parametrize('key,suggestion', [
    ('train_cfg.max_epoch', 'train_cfg.max_epochs'),
    ('model.backbone.dept', 'model.backbone.depth'),
    ('train_cfg.val_intervall', 'train_cfg.val_interval'),
])
def test_near_miss_is_an_error_with_a_suggestion(cfg, key, suggestion):
    with pytest.raises(ConfigKeyError) as info:
        check_cfg_options(cfg, {key: 2})
    assert f'did you mean "{suggestion}"' in str(info.value)
    assert key in str(info.value)


@pytest.mark.parametrize('key', [
    'train_cfg.max_epochs', 'model.backbone.frozen_stages',
    'model.heads.0.num_classes', 'randomness.seed', 'new_top_level_key'
])
def test_existing_and_genuinely_new_keys_pass(cfg, key):
    check_cfg_options(cfg, {key: 1})


def test_key_below_none_is_a_clear_error(cfg, tmp_path):
    with pytest.raises(ConfigKeyError, match='inherits this one'):
        apply_cli_options(cfg, 'cfg.py', str(tmp_path),
                          {'model.backbone.init_cfg.type': 'Pretrained'})


def test_work_dir_defaults_to_config_name(cfg):
    apply_cli_options(cfg, 'configs/demo/my_config.py', None, None)
    assert cfg.work_dir == './work_dirs/my_config'


def test_merge_checks_then_merges(cfg):
    assert merge_cfg_options(cfg, {'train_cfg.max_epochs': 2}) is cfg
    assert cfg.train_cfg.max_epochs == 2
    with pytest.raises(ConfigKeyError, match='max_epochs'):
        merge_cfg_options(cfg, {'train_cfg.max_epoch': 3})
    assert 'max_epoch' not in cfg.train_cfg


def test_load_config_file_or_upstream_name(tmp_path):
    with pytest.raises(FileNotFoundError, match='configs/'):
        load_config(str(tmp_path / 'missing.py'))
    cfg = load_config('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py')
    assert cfg.model.type == 'FasterRCNN'
