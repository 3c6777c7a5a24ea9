"""ResLayerWithExtraNorm (custom_modules/models/res5_head.py)."""
import torch
from mmdet.registry import MODELS
from torch import nn


def build(**kwargs):
    """The res5 head of a ResNet-18 (or as ``kwargs`` say)."""
    cfg = dict(type='ResLayerWithExtraNorm', depth=18, stage=3)
    return MODELS.build(dict(cfg, _scope_='mmdet', **kwargs))


def test_ends_with_the_extra_bn():
    head = build()
    head.init_weights()
    last = list(head.children())[-1]
    assert last is head.extra_norm
    assert isinstance(last, nn.BatchNorm2d) and last.num_features == 512
    captured = []
    head.layer4.register_forward_hook(
        lambda m, i, o: captured.append(o.clone()))
    out = head(torch.randn(4, 256, 14, 14))
    assert out.shape == (4, 512, 7, 7)
    # the output is res5's output through the extra BN (training mode)
    torch.testing.assert_close(out, head.extra_norm(captured[0]))
    assert not torch.equal(out, captured[0])


def test_extra_norm_trains_under_norm_eval():
    head = build(norm_eval=True)
    head.train()
    assert not head.layer4[0].bn1.training  # res5 statistics frozen
    assert head.extra_norm.training  # the new norm learns its statistics
    before = head.extra_norm.running_mean.clone()
    head(torch.randn(2, 256, 14, 14))
    assert not torch.equal(before, head.extra_norm.running_mean)
    head.eval()
    assert not head.extra_norm.training


def test_extra_norm_cfg_and_resnet50_width():
    head = build(depth=50, extra_norm_cfg=dict(type='GN', num_groups=32))
    assert isinstance(head.extra_norm, nn.GroupNorm)
    assert head.extra_norm.num_channels == 2048
