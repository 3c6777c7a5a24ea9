"""The KITTI recipe through the tools on the real KITTI samples: kitti2coco
-> a few iterations of the tiny recipe config with tools/train.py ->
tools/test.py prints the KITTI tables."""
import os.path as osp

import pytest
import torch

from ssdet.data.kitti import cfg_options

TINY = 'configs/kitti/faster-rcnn_r18_fpn_1e_kitti-tiny.py'


@pytest.fixture
def kitti_coco(run_tool, kitti_root, tmp_path):
    ann_dir = str(tmp_path / 'annotations')
    rc, out = run_tool('dataset_converters/kitti2coco.py', kitti_root, '--out',
                       ann_dir)
    assert rc == 0, out[-3000:]
    assert osp.isfile(osp.join(ann_dir, 'train.json'))
    return ann_dir


@pytest.mark.slow
def test_kitti_recipe_trains_and_tests(run_tool, kitti_root, kitti_coco,
                                       tmp_path):
    import torchvision

    from ssdet.checkpoints import convert
    torch.manual_seed(0)
    source = str(tmp_path / 'r18_torchvision.pth')
    torch.save(torchvision.models.resnet18().state_dict(), source)
    ckpt = str(tmp_path / 'r18_mmdet.pth')
    convert(source, ckpt, src_format='torchvision', target='mmdet')

    work = str(tmp_path / 'work')
    options = ['randomness.seed=0'] + cfg_options(kitti_root, kitti_coco) + [
        f'model.backbone.init_cfg.checkpoint={ckpt}'
    ]
    rc, out = run_tool('train.py', TINY, '--work-dir', work, '--cfg-options',
                       *options)
    assert rc == 0, out[-4000:]
    assert 'VerifiedPretrained: ResNet <- ' in out
    assert 'TransferCheckHook: fine-tuning agrees with the pretraining' in out
    assert 'Epoch(train) [1][1/' in out
    assert 'KITTI evaluation on' in out  # validation after the epoch

    rc, out = run_tool('test.py', TINY, osp.join(work, 'epoch_1.pth'),
                       '--work-dir', work, '--cfg-options', *options)
    assert rc == 0, out[-4000:]
    assert 'KITTI evaluation on 1 images' in out, out[-3000:]
    assert '| mAP ' in out  # the paper table
    assert 'kitti/mAP:' in out, out[-3000:]
    # mmdet's CocoMetric beside KittiMetric (a 1-epoch model may find nothing)
    assert ('coco/bbox_mAP_50:' in out
            or 'results of the whole dataset is empty' in out), out[-3000:]


def test_kitti_recipe_without_checkpoint_stops(run_tool, kitti_root,
                                               kitti_coco, tmp_path):
    rc, out = run_tool('train.py', TINY, '--work-dir', str(tmp_path / 'work'),
                       '--cfg-options', 'randomness.seed=0',
                       *cfg_options(kitti_root, kitti_coco))
    assert rc != 0
    assert 'has no checkpoint: pass one with --cfg-options ' \
        'model.backbone.init_cfg.checkpoint=PATH' in out, out[-3000:]
