"""A real mmdet Faster R-CNN runs loss, backward and predict on the CPU
through the ``mmcv._ext`` provider (NMS in RPN and RCNN, RoIAlign)."""
import torch
from mmengine.hub import get_config
from mmengine.registry import init_default_scope


def build_tiny_faster_rcnn():
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg = get_config('mmdet::_base_/models/faster-rcnn_r50_fpn.py')
    cfg.model.backbone.update(depth=18, init_cfg=None)
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    cfg.model.roi_head.bbox_head.num_classes = 3
    return MODELS.build(cfg.model)


def make_batch():
    """One 64 x 96 image with two boxes (mmdet's test inputs, seeded)."""
    from mmdet.testing import demo_mm_inputs
    return demo_mm_inputs(1, [(3, 64, 96)], num_items=[2], num_classes=3)


def test_faster_rcnn_loss_backward_predict_on_cpu():
    torch.manual_seed(0)
    model = build_tiny_faster_rcnn()
    model.init_weights()
    data = model.data_preprocessor(make_batch(), training=True)
    losses = model(**data, mode='loss')
    parsed, _ = model.parse_losses(losses)
    total = parsed
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.roi_head.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    # RoIAlign backward reaches the neck through the provider.
    assert model.neck.fpn_convs[0].conv.weight.grad.abs().sum() > 0

    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(make_batch(), training=False)
        results = model(**data, mode='predict')
    pred = results[0].pred_instances
    assert pred.bboxes.shape[1] == 4
    assert len(pred.bboxes) == len(pred.scores) == len(pred.labels)
