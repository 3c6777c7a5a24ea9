"""Fine-tuning on the synthetic set through tools/train.py and tools/test.py:
from a (tiny) SwAV checkpoint and from scratch, one shrunken epoch each."""
import glob
import os.path as osp
import re

import pytest
import torch

pytestmark = pytest.mark.slow


def train_and_test(run_tool, config, work_dir, options):
    rc, out = run_tool('train.py', config, '--work-dir', work_dir,
                       '--cfg-options', *options)
    assert rc == 0, out[-4000:]
    ckpts = glob.glob(osp.join(work_dir, 'epoch_1.pth'))
    assert ckpts, out[-2000:]
    rc, test_out = run_tool('test.py', config, ckpts[0], '--work-dir',
                            work_dir, '--cfg-options', *options)
    assert rc == 0, test_out[-4000:]
    for metric in ('coco/bbox_mAP:', 'coco/bbox_mAP_50:', 'coco/bbox_mAP_75:',
                   'coco/bbox_mAP_s:', 'coco/bbox_mAP_m:', 'coco/bbox_mAP_l:'):
        assert metric in test_out, test_out[-3000:]
    assert 'spotted_disc' in test_out  # per-class AP table
    return out


def test_finetune_from_swav(run_tool, synthetic_options, save_swav_checkpoint,
                            synthetic_root, tmp_path):
    ckpt = str(tmp_path / 'swav_r18.pth')
    save_swav_checkpoint(ckpt)
    options = synthetic_options(synthetic_root) + [
        f'model.backbone.init_cfg.checkpoint={ckpt}'
    ]
    out = train_and_test(run_tool,
                         'configs/demo/faster-rcnn_r18_fpn_synthetic_swav.py',
                         str(tmp_path / 'swav'), options)
    assert 'VerifiedPretrained: ResNet <- ' in out
    assert re.search(r'matched 1\d\d, missing 0 \(0 weights\), unexpected 0',
                     out), out[-3000:]
    assert 'TransferCheckHook: fine-tuning agrees with the pretraining' in out
    assert 'optimizer param groups:' in out


def test_finetune_from_scratch(run_tool, synthetic_options, synthetic_root,
                               tmp_path):
    out = train_and_test(run_tool,
                         'configs/demo/faster-rcnn_r18_fpn_synthetic.py',
                         str(tmp_path / 'scratch'),
                         synthetic_options(synthetic_root))
    assert 'VerifiedPretrained' not in out


def test_wrong_prefix_stops_training(run_tool, synthetic_options,
                                     save_swav_checkpoint, synthetic_root,
                                     tmp_path):
    ckpt = str(tmp_path / 'swav_r18.pth')
    save_swav_checkpoint(ckpt)
    state = torch.load(ckpt, weights_only=True)['state_dict']
    bad = str(tmp_path / 'moco.pth')
    torch.save(
        {
            'state_dict': {
                'module.encoder_q.' + k[len('backbone.'):]: v
                for k, v in state.items()
            }
        }, bad)
    rc, out = run_tool('train.py',
                       'configs/demo/faster-rcnn_r18_fpn_synthetic_swav.py',
                       '--work-dir', str(tmp_path / 'bad'), '--cfg-options',
                       *synthetic_options(synthetic_root),
                       f'model.backbone.init_cfg.checkpoint={bad}')
    assert rc != 0
    assert 'TransferError: moco.pth: no weight was loaded' in out
    assert '--src-format moco' in out
    assert not glob.glob(str(tmp_path / 'bad' / '*.pth'))
