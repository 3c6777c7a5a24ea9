"""Shared2FCBBoxHeadLN (custom_modules/models/bbox_heads.py)."""
import pytest
import torch
from mmdet.registry import MODELS
from torch import nn


def build(**kwargs):
    """A tiny Shared2FCBBoxHeadLN (or the head ``kwargs`` say)."""
    cfg = dict(
        type='Shared2FCBBoxHeadLN',
        in_channels=4,
        fc_out_channels=16,
        roi_feat_size=7,
        num_classes=3)
    return MODELS.build(dict(cfg, _scope_='mmdet', **kwargs))


def test_layernorm_after_each_fc_before_relu():
    head = build()
    assert [type(m) for m in head.shared_lns] == [nn.LayerNorm] * 2
    assert head.shared_lns[0].normalized_shape == (16, )
    head.init_weights()  # Xavier over shared_fcs must not touch the LNs
    order = []
    for m in [*head.shared_fcs, *head.shared_lns, head.relu]:
        m.register_forward_hook(
            lambda mod, i, o, order=order: order.append(type(mod).__name__))
    cls_score, bbox_pred = head(torch.randn(5, 4, 7, 7))
    assert cls_score.shape == (5, 4) and bbox_pred.shape == (5, 12)
    assert order == [
        'Linear', 'LayerNorm', 'ReLU', 'Linear', 'LayerNorm', 'ReLU'
    ]


def test_one_layernorm_between_the_fcs():
    head = build(ln_position='between')
    assert len(head.shared_lns) == 1
    head.init_weights()
    order = []
    for m in [*head.shared_fcs, *head.shared_lns]:
        m.register_forward_hook(
            lambda mod, i, o, order=order: order.append(type(mod).__name__))
    head(torch.randn(2, 4, 7, 7))
    assert order == ['Linear', 'LayerNorm', 'Linear']


def test_shared_fc_output_is_normalised():
    head = build()
    head.init_weights()
    captured = []
    head.shared_lns[1].register_forward_hook(
        lambda mod, i, o: captured.append(o.clone()))
    head(torch.randn(8, 4, 7, 7) * 100)
    out = captured[0]
    torch.testing.assert_close(out.mean(-1), torch.zeros(8), atol=1e-4, rtol=0)


def test_stock_init_fails_on_layernorm_in_shared_fcs():
    """Why the LNs live in their own attribute: mmdet's Xavier override of
    shared_fcs fails on a LayerNorm weight."""
    head = build(type='Shared2FCBBoxHead')
    head.shared_fcs.append(nn.LayerNorm(16))
    with pytest.raises(ValueError):
        head.init_weights()


def test_bad_position():
    with pytest.raises(ValueError, match='ln_position'):
        build(ln_position='after')
