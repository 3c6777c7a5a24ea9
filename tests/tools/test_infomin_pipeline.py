"""The InfoMin retraining route end to end on the synthetic set, through the
tools: torchvision weights -> convert.py (mmselfsup-moco) -> contrastive
training with load_from -> convert.py (mmdet) -> Faster R-CNN fine-tuning
-> tools/test.py AP."""
import math
import os.path as osp
import re

import pytest
import torch

from custom_modules.compat.checkpoint import load_checkpoint_file

pytestmark = pytest.mark.slow

TINY_MOCO = 'configs/infomin/mocov2_resnet18_1xb16-coslr-2e_synthetic.py'
DETECTOR = 'configs/demo/faster-rcnn_r18_fpn_synthetic_swav.py'
BATCH = 16
QUEUE = 32  # keys of 2 batches: fewer than the 48 images of the pool
EPOCHS = 100  # 3 iterations each: 300 iterations


def losses(log):
    return [
        float(v)
        for v in re.findall(r'Epoch\(train\).*?\sloss: ([-\d.naif]+)', log)
    ]


def detector_options(synthetic_options, data_root, ckpt):
    """--cfg-options for one short fine-tuning epoch on the generated set
    (no validation: tools/test.py evaluates)."""
    return synthetic_options(data_root) + [
        'train_cfg.val_begin=2', f'model.backbone.init_cfg.checkpoint={ckpt}'
    ]


def test_infomin_retraining_route(run_tool, synthetic_options, synthetic_root,
                                  tmp_path):
    import torchvision

    # 1. torchvision weights, a bare state dict
    torch.manual_seed(0)
    source = str(tmp_path / 'r18_torchvision.pth')
    torch.save(torchvision.models.resnet18().state_dict(), source)

    # 2. -> both encoders of mmselfsup's MoCo
    moco_init = str(tmp_path / 'r18_moco.pth')
    rc, out = run_tool('model_converters/convert.py', '--src-format',
                       'torchvision', '--target', 'mmselfsup-moco', source,
                       moco_init)
    assert rc == 0, out[-3000:]
    init_state = torch.load(moco_init, weights_only=True)['state_dict']
    # a fresh queue: the file must not bring one
    assert 'queue' not in init_state and 'queue_ptr' not in init_state
    assert int(init_state['encoder_k.steps']) == 0

    # 3. contrastive training from those weights (load_from: model only),
    # a few hundred iterations
    work = str(tmp_path / 'moco')
    images = osp.join(synthetic_root, 'unlabeled') + '/'
    num_images = 48  # conftest's synthetic_root
    per_epoch = num_images // BATCH
    iters = EPOCHS * per_epoch
    last = f'epoch_{EPOCHS}.pth'
    rc, out = run_tool(
        'train.py', TINY_MOCO, '--work-dir', work, '--cfg-options',
        f'load_from={moco_init}',
        f'train_dataloader.dataset.data_root={images}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        f'model.queue_len={QUEUE}', f'train_cfg.max_epochs={EPOCHS}',
        f'param_scheduler.0.T_max={EPOCHS}', f'param_scheduler.0.end={EPOCHS}',
        f'default_hooks.checkpoint.interval={EPOCHS}',
        'default_hooks.logger.interval=1', 'randomness.seed=0')
    assert rc == 0, out[-4000:]
    assert f'Load checkpoint from {moco_init}' in out
    # starts at epoch 0 (mmengine pads the epoch number to the width of 100)
    assert re.search(rf'Epoch\(train\)\s+\[1\]\[1/{per_epoch}\]', out)
    assert 'missing keys in source state_dict: queue, queue_ptr' in out
    logged = losses(out)
    assert len(logged) == iters, out[-3000:]
    assert all(math.isfinite(v) and v > 0 for v in logged), logged
    # The loss rises while real keys replace the random initial queue
    # (ln(QUEUE + 1) = 3.50 is chance), then falls: measured 3.45 over
    # iterations 31-60 and 3.10 over the last 30.
    early = sum(logged[30:60]) / 30
    late = sum(logged[-30:]) / 30
    assert late < early - 0.15, (early, late)

    trained = load_checkpoint_file(osp.join(work, last))
    state = trained['state_dict']
    assert trained['meta']['epoch'] == EPOCHS
    # the queue was filled by this run only, from position 0
    assert int(state['queue_ptr']) == iters * BATCH % QUEUE
    assert int(state['encoder_k.steps']) == iters
    # training moved the weights loaded from the file
    moved = (state['backbone.layer4.1.conv2.weight'] -
             init_state['backbone.layer4.1.conv2.weight']).abs().max()
    assert moved > 0
    # the key encoder started as a copy of the online one and lags behind
    assert not torch.equal(state['encoder_k.module.0.conv1.weight'],
                           state['backbone.conv1.weight'])
    assert trained['meta']['pretrain_cfg']['bgr_to_rgb'] is True

    # 4. extract the online backbone for mmdet
    backbone = str(tmp_path / 'r18_mmdet.pth')
    rc, out = run_tool('model_converters/convert.py',
                       '--src-format', 'mmselfsup', '--target', 'mmdet',
                       osp.join(work, last), backbone)
    assert rc == 0, out[-3000:]
    extracted = torch.load(backbone, weights_only=True)['state_dict']
    assert torch.equal(extracted['backbone.layer4.1.conv2.weight'],
                       state['backbone.layer4.1.conv2.weight'])

    # 5. fine-tune Faster R-CNN and evaluate
    det_work = str(tmp_path / 'det')
    options = detector_options(synthetic_options, synthetic_root, backbone)
    rc, out = run_tool('train.py', DETECTOR, '--work-dir', det_work,
                       '--cfg-options', *options)
    assert rc == 0, out[-4000:]
    assert re.search(r'VerifiedPretrained: ResNet <- .*missing 0', out)
    assert 'TransferCheckHook: fine-tuning agrees with the pretraining' in out
    # after 6 iterations no score passes mmdet's 0.05: keep every box so
    # that the COCO evaluation has detections to score
    rc, out = run_tool('test.py', DETECTOR, osp.join(det_work, 'epoch_1.pth'),
                       '--work-dir', det_work, '--cfg-options', *options,
                       'model.test_cfg.rcnn.score_thr=0')
    assert rc == 0, out[-4000:]
    found = re.search(r'coco/bbox_mAP: (-?[\d.]+)', out)
    assert found, out[-3000:]
    assert 0 <= float(found.group(1)) <= 1
