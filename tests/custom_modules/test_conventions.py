"""The one record of pretraining conventions: built from configs, config
text (as data), metas and models, and compared."""
import os.path as osp

import pytest
from mmengine.config import Config

from custom_modules.conventions import (ConventionsError, PretrainConventions,
                                        literal_config)

RGB = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)


def test_from_a_real_mmselfsup_config_text():
    import mmselfsup
    cfg = Config.fromfile(
        osp.join(
            osp.dirname(mmselfsup.__file__), '.mim', 'configs', 'selfsup',
            'swav', 'swav_resnet50_8xb32-mcrop-2-6-coslr-200e_in1k-224-96.py'))
    got = PretrainConventions.from_meta(dict(cfg=cfg.pretty_text))
    assert got.bgr_to_rgb is True
    assert (got.depth, got.norm, got.stem, got.style) == (50, 'SyncBN', '7x7',
                                                          'pytorch')
    assert got.mean == pytest.approx(RGB['mean'])
    # The text says the same as the config it was dumped from.
    assert got.compare(
        PretrainConventions.from_cfg(cfg.model.data_preprocessor,
                                     cfg.model.backbone)) == []


def test_recorded_pretrain_cfg_wins_and_empty_metas():
    recorded = dict(mean=[0, 0, 0], std=[1, 1, 1], bgr_to_rgb=False,
                    backbone='ResNet', prefix='backbone.')  # extra keys: ok
    text = 'model = dict(backbone=dict(depth=50))'
    got = PretrainConventions.from_meta(dict(pretrain_cfg=recorded, cfg=text))
    assert got == PretrainConventions(
        mean=(0., 0., 0.), std=(1., 1., 1.), bgr_to_rgb=False)
    assert PretrainConventions.from_meta(None) is None
    assert PretrainConventions.from_meta(dict(epoch=3)) is None
    assert PretrainConventions.from_meta(dict(cfg='x = 1')) is None
    assert PretrainConventions.from_meta(dict(cfg='not python (')) is None


@pytest.mark.parametrize('bad', [
    dict(mean='abc'),
    dict(mean=[1, 2]),
    dict(std=[1, 'x', 3]),
    dict(bgr_to_rgb='yes'),
    dict(depth='50'),
    dict(norm=3),
])
def test_malformed_records_are_errors(bad):
    with pytest.raises(ConventionsError):
        PretrainConventions.from_meta(dict(pretrain_cfg=bad))


def test_round_trip_through_to_dict():
    conv = PretrainConventions.from_cfg(
        RGB, dict(depth=34, norm_cfg=dict(type='GN'), deep_stem=True))
    record = conv.to_dict()
    assert record['channel_order'] == 'rgb' and record['stem'] == 'deep'
    assert PretrainConventions.from_dict(record) == conv


def test_compare_catches_every_field():
    pre = PretrainConventions.from_cfg(
        RGB, dict(depth=50, norm_cfg=dict(type='SyncBN')))
    same = PretrainConventions.from_cfg(
        RGB, dict(depth=50, norm_cfg=dict(type='BN')))
    assert pre.compare(same) == []
    caffe = PretrainConventions.from_cfg(
        dict(mean=[103.53, 116.28, 123.675], std=[1, 1, 1], bgr_to_rgb=False),
        dict(
            depth=18, norm_cfg=dict(type='GN'), deep_stem=True, style='caffe'))
    problems = pre.compare(caffe)
    assert len(problems) == 7
    assert problems[0].startswith('channel order: pretrained on RGB')
    assert 'depth: pretrained ResNet-50, fine-tuning ResNet-18' in problems
    assert any(p.startswith('norm: pretrained with SyncBN') for p in problems)
    assert "stem: pretrained '7x7', fine-tuning 'deep'" in problems
    assert "style: pretrained 'pytorch', fine-tuning 'caffe'" in problems
    # Fields one side does not know are not compared.
    assert PretrainConventions(bgr_to_rgb=True).compare(caffe) == [
        problems[0]
    ]


def test_swav_release_std_is_within_tolerance_but_swapped_mean_is_not():
    detector = PretrainConventions.from_cfg(RGB)
    swav_release = PretrainConventions.from_cfg(
        dict(RGB, std=[58.14, 57.12, 57.375]))
    assert swav_release.compare(detector) == []
    swapped = PretrainConventions.from_cfg(
        dict(RGB, mean=[103.53, 116.28, 123.675]))
    problems = swapped.compare(detector)
    assert len(problems) == 1 and problems[0].startswith('mean:')


def test_config_text_is_read_as_data_never_run(tmp_path):
    marker = tmp_path / 'pwned'
    text = (f"import os\nos.system('touch {marker}')\n"
            f"open({str(marker)!r}, 'w').write('x')\n"
            "_base_ = ['/etc/passwd']\n"
            "evil = __import__('os').system('touch x')\n"
            "model = dict(type=__import__('os').getcwd(),\n"
            "             data_preprocessor=dict(mean=[1, 2, 3],\n"
            "                                    std=[4, 5, 6],\n"
            "                                    bgr_to_rgb=False),\n"
            "             backbone=dict(depth=18, norm_cfg=dict(type='GN'),\n"
            "                           init_cfg=exec('1')))\n")
    cfg = literal_config(text)
    assert not marker.exists()
    assert 'evil' not in cfg and 'type' not in cfg['model']
    assert cfg['model']['backbone'] == dict(depth=18,
                                            norm_cfg=dict(type='GN'))
    got = PretrainConventions.from_cfg_text(text)
    assert not marker.exists()
    assert got.mean == (1., 2., 3.) and got.bgr_to_rgb is False
    assert (got.depth, got.norm) == (18, 'GN')
