"""VerifiedPretrained + TransferCheckHook + custom_modules/transfer.py on a
real mmselfsup checkpoint.

The SwAV checkpoint is made from a real mmselfsup SwAV model (ResNet-18
backbone, SwAVNeck, SwAVHead with prototypes), saved the way mmengine saves
it: ``{'meta': {'cfg': <config text>, ...}, 'state_dict': ...}``.
"""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from custom_modules.conventions import PretrainConventions
from custom_modules.engine.hooks import TransferCheckHook
from custom_modules.transfer import TransferError, match_state_dict

RGB_PREPROCESSOR = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)  # the data preprocessor of tests/conftest.py's SwAV


@pytest.fixture(scope='module')
def swav_ckpt(tmp_path_factory, save_swav_checkpoint):
    path = str(tmp_path_factory.mktemp('swav') / 'swav_r18.pth')
    state = save_swav_checkpoint(path, randomize=True)
    return path, state


def build_backbone(checkpoint, prefix='backbone.', **kwargs):
    return MODELS.build(
        dict(
            _scope_='mmdet',
            type='ResNet',
            depth=kwargs.pop('depth', 18),
            init_cfg=dict(
                type='VerifiedPretrained',
                checkpoint=checkpoint,
                prefix=prefix),
            **kwargs))


def test_swav_checkpoint_loads_every_backbone_key(swav_ckpt):
    path, state = swav_ckpt
    backbone = build_backbone(path)
    backbone.init_weights()
    info = backbone.transfer_info
    assert info['missing'] == []
    assert info['unexpected'] == []
    assert info['matched'] == len(backbone.state_dict())
    for key, value in backbone.state_dict().items():
        torch.testing.assert_close(value, state['backbone.' + key])


def test_report_counts_keys_outside_prefix(swav_ckpt):
    path, state = swav_ckpt
    backbone = build_backbone(None)
    report = match_state_dict(backbone.state_dict(), state, 'backbone.')
    assert report.outside_prefix == {'neck': 14, 'head': 1}
    assert 'not loaded (outside the prefix): neck.* (14), head.* (1)' in \
        report.summary()


def test_wrong_prefix_fails_loudly(swav_ckpt, tmp_path):
    _, state = swav_ckpt
    path = str(tmp_path / 'infomin.pth')
    torch.save(
        {
            'model': {
                'module.encoder.' + k[len('backbone.'):]: v
                for k, v in state.items() if k.startswith('backbone.')
            }
        }, path)
    backbone = build_backbone(path)
    with pytest.raises(TransferError) as err:
        backbone.init_weights()
    msg = str(err.value)
    assert 'infomin.pth' in msg
    assert 'no weight was loaded' in msg
    assert "'module.encoder.'" in msg
    assert 'tools/model_converters/convert.py --src-format pycontrast' in msg
    assert not hasattr(backbone, 'transfer_info')


def test_missing_backbone_weights_fail(swav_ckpt, tmp_path):
    _, state = swav_ckpt
    path = str(tmp_path / 'partial.pth')
    torch.save({k: v for k, v in state.items() if 'layer4' not in k}, path)
    with pytest.raises(
            TransferError,
            match=r'partial.pth: \d+ backbone '
            r'weights are missing.*layer4'):
        build_backbone(path).init_weights()
    # allow_missing lets a deliberately new stage through
    backbone = MODELS.build(
        dict(
            _scope_='mmdet',
            type='ResNet',
            depth=18,
            init_cfg=dict(
                type='VerifiedPretrained',
                checkpoint=path,
                allow_missing=['layer4.'])))
    backbone.init_weights()
    assert backbone.transfer_info['missing']


def test_shape_mismatch_and_missing_checkpoint_fail(swav_ckpt):
    path, _ = swav_ckpt
    with pytest.raises(TransferError, match='ResNet-18 vs ResNet-50'):
        build_backbone(path, depth=50).init_weights()
    with pytest.raises(TransferError, match='init_cfg.checkpoint=PATH'):
        build_backbone(None).init_weights()


def test_bare_num_batches_tracked_may_be_missing(swav_ckpt, tmp_path):
    _, state = swav_ckpt
    path = str(tmp_path / 'converted.pth')
    torch.save(
        {
            'state_dict': {
                k: v
                for k, v in state.items()
                if k.startswith('backbone.') and 'num_batches' not in k
            }
        }, path)
    backbone = build_backbone(path)
    backbone.init_weights()
    assert all(
        k.endswith('num_batches_tracked')
        for k in backbone.transfer_info['missing'])


# -- pretraining settings ---------------------------------------------------


def test_conventions_from_the_mmengine_cfg_text_of_a_real_checkpoint(
        swav_ckpt):
    path, _ = swav_ckpt
    meta = torch.load(path, weights_only=True)['meta']
    got = PretrainConventions.from_meta(meta)
    assert got == PretrainConventions(
        mean=tuple(RGB_PREPROCESSOR['mean']),
        std=tuple(RGB_PREPROCESSOR['std']),
        bgr_to_rgb=True,
        depth=18,
        norm='BN',
        stem='7x7',
        style='pytorch',
        basis='config text in the checkpoint')


# -- the hook on a real Runner ----------------------------------------------


class ToyDataset(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, idx):
        return dict(inputs=torch.rand(3, 32, 32) * 255)


class ToyDetector(BaseModel):
    """A backbone behind an image data preprocessor, like a detector."""

    def __init__(self, checkpoint, bgr_to_rgb):
        super().__init__(
            data_preprocessor=dict(
                type='ImgDataPreprocessor',
                mean=RGB_PREPROCESSOR['mean'],
                std=RGB_PREPROCESSOR['std'],
                bgr_to_rgb=bgr_to_rgb))
        self.backbone = build_backbone(checkpoint)

    def forward(self, inputs, data_samples=None, mode='loss'):
        feats = self.backbone(inputs)
        return dict(loss=sum(f.mean() for f in feats))


def run_toy(tmp_path, checkpoint, bgr_to_rgb, **hook_args):
    runner = Runner(
        model=ToyDetector(checkpoint, bgr_to_rgb),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            num_workers=0),
        train_cfg=dict(by_epoch=False, max_iters=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=1e-3)),
        custom_hooks=[dict(type='TransferCheckHook', **hook_args)],
        default_hooks=dict(checkpoint=None),
        default_scope='mmdet',
        experiment_name=f'toy_{tmp_path.name}_{bgr_to_rgb}')
    runner.train()
    return runner


def test_hook_passes_when_consistent(swav_ckpt, tmp_path):
    runner = run_toy(tmp_path, swav_ckpt[0], bgr_to_rgb=True)
    assert runner.iter == 1


def test_hook_catches_bgr_rgb_mismatch(swav_ckpt, tmp_path):
    with pytest.raises(TransferError) as err:
        run_toy(tmp_path, swav_ckpt[0], bgr_to_rgb=False)
    assert 'channel order: pretrained on RGB' in str(err.value)
    assert osp.basename(swav_ckpt[0]) in str(err.value)


def test_hook_warns_when_asked(swav_ckpt, tmp_path):
    runner = run_toy(
        tmp_path, swav_ckpt[0], bgr_to_rgb=False, on_mismatch='warn')
    assert runner.iter == 1


def test_hook_catches_overwritten_weights(swav_ckpt):
    model = ToyDetector(swav_ckpt[0], bgr_to_rgb=True)
    model.init_weights()
    assert PretrainConventions.from_model(model).bgr_to_rgb is True
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.zero_()
    runner = SimpleNamespace(model=model, cfg=Config(dict()))
    with pytest.raises(TransferError, match='overwritten'):
        TransferCheckHook().before_train(runner)
    # a full checkpoint given by load_from legitimately replaces them
    runner.cfg = Config(dict(load_from='detector.pth'))
    TransferCheckHook().before_train(runner)


def test_hook_scratch_and_require_pretrained():
    model = ToyDetector(None, bgr_to_rgb=True)
    model.backbone.init_cfg = None
    runner = SimpleNamespace(model=model, cfg=Config(dict()))
    TransferCheckHook().before_train(runner)  # logged, not an error
    with pytest.raises(TransferError, match='VerifiedPretrained'):
        TransferCheckHook(require_pretrained=True).before_train(runner)
    with pytest.raises(ValueError):
        TransferCheckHook(on_mismatch='ignore')
