"""The torchvision-backed ``mmcv._ext`` provider against direct references."""
import math

import pytest
import torch

from custom_modules.compat import ext_ops

pytestmark = pytest.mark.skipif(
    not ext_ops.install(), reason='compiled mmcv is installed; the provider '
    'is not in use')


def brute_force_nms(boxes, scores, thr, offset=0):
    """Greedy NMS, stable in score order, computed pair by pair."""
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    keep, suppressed = [], set()
    for i in order:
        if i in suppressed:
            continue
        keep.append(i)
        for j in order:
            if j in suppressed or j == i:
                continue
            xi1, yi1, xi2, yi2 = boxes[i].tolist()
            xj1, yj1, xj2, yj2 = boxes[j].tolist()
            iw = max(0.0, min(xi2, xj2) - max(xi1, xj1) + offset)
            ih = max(0.0, min(yi2, yj2) - max(yi1, yj1) + offset)
            inter = iw * ih
            area_i = (xi2 - xi1 + offset) * (yi2 - yi1 + offset)
            area_j = (xj2 - xj1 + offset) * (yj2 - yj1 + offset)
            if inter / (area_i + area_j - inter) > thr:
                suppressed.add(j)
    return keep


def random_boxes(n, seed, size=64.0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * size
    wh = torch.rand(n, 2, generator=g) * size / 2 + 1
    return torch.cat([xy, xy + wh], dim=1)


@pytest.mark.parametrize('seed', range(5))
@pytest.mark.parametrize('offset', [0, 1])
def test_nms_matches_brute_force(seed, offset):
    boxes = random_boxes(60, seed)
    scores = torch.rand(60, generator=torch.Generator().manual_seed(seed))
    keep = ext_ops.nms(boxes, scores, 0.4, offset=offset)
    assert keep.dtype == torch.long
    assert keep.tolist() == brute_force_nms(boxes, scores, 0.4, offset)


def test_nms_ties_keep_the_earlier_box():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10],
                          [50, 50, 60, 60]], dtype=torch.float)
    scores = torch.tensor([0.5, 0.5, 0.5, 0.5])
    keep = ext_ops.nms(boxes, scores, 0.5)
    assert keep.tolist() == [0, 3] == brute_force_nms(boxes, scores, 0.5)


def test_nms_offset_changes_the_result():
    # IoU 0.25 without the +1 convention, above 0.3 with it.
    boxes = torch.tensor([[0, 0, 3, 3], [1, 1, 4, 4]], dtype=torch.float)
    scores = torch.tensor([0.9, 0.8])
    assert ext_ops.nms(boxes, scores, 0.3, offset=0).tolist() == [0, 1]
    assert ext_ops.nms(boxes, scores, 0.3, offset=1).tolist() == [0]


def test_nms_empty_input():
    keep = ext_ops.nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert keep.shape == (0, ) and keep.dtype == torch.long


def test_mmcv_nms_uses_provider():
    from mmcv.ops import batched_nms, nms
    boxes = random_boxes(30, 7)
    scores = torch.rand(30, generator=torch.Generator().manual_seed(7))
    dets, keep = nms(boxes, scores, 0.5)
    assert keep.tolist() == brute_force_nms(boxes, scores, 0.5)
    assert torch.equal(dets[:, 4], scores[keep])
    idxs = torch.arange(30) % 3
    dets, keep = batched_nms(boxes, scores, idxs, dict(iou_threshold=0.5))
    assert len(keep) >= len(brute_force_nms(boxes, scores, 0.5))


def bilinear(feat, y, x):
    """mmcv/detectron2 bilinear interpolation of one channel map."""
    h, w = feat.shape
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= h - 1:
        y_high = y_low = h - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= w - 1:
        x_high = x_low = w - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    return (hy * hx * feat[y_low, x_low] + hy * lx * feat[y_low, x_high] +
            ly * hx * feat[y_high, x_low] + ly * lx * feat[y_high, x_high])


def reference_roi_align(feats, rois, out_hw, scale, ratio, aligned):
    """Average RoIAlign written out sample by sample."""
    ph, pw = out_hw
    out = torch.zeros(len(rois), feats.shape[1], ph, pw, dtype=feats.dtype)
    off = 0.5 if aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        x1, y1 = x1 * scale - off, y1 * scale - off
        rw, rh = x2 * scale - off - x1, y2 * scale - off - y1
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph, rw / pw
        gh = ratio if ratio > 0 else math.ceil(rh / ph)
        gw = ratio if ratio > 0 else math.ceil(rw / pw)
        count = max(gh * gw, 1)
        for c in range(feats.shape[1]):
            fmap = feats[int(b), c]
            for i in range(ph):
                for j in range(pw):
                    acc = 0.0
                    for iy in range(gh):
                        y = y1 + i * bh + (iy + 0.5) * bh / gh
                        for ix in range(gw):
                            x = x1 + j * bw + (ix + 0.5) * bw / gw
                            acc += float(bilinear(fmap, y, x))
                    out[k, c, i, j] = acc / count
    return out


@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('ratio', [0, 1, 2])
def test_roi_align_forward_matches_reference(aligned, ratio):
    from mmcv.ops import roi_align
    g = torch.Generator().manual_seed(0)
    feats = torch.rand(2, 2, 9, 11, generator=g, dtype=torch.float64)
    rois = torch.tensor([[0, 1.0, 1.5, 14.0, 12.0], [1, 3.2, 0.0, 7.9, 5.1],
                         [0, -2.0, -1.0, 4.0, 3.0], [1, 5.0, 5.0, 5.5, 5.2]],
                        dtype=torch.float64)
    out = roi_align(feats, rois, (3, 2), 0.5, ratio, 'avg', aligned)
    ref = reference_roi_align(feats, rois, (3, 2), 0.5, ratio, aligned)
    assert torch.allclose(out, ref, atol=1e-10)


@pytest.mark.parametrize('aligned', [True, False])
def test_roi_align_backward_gradcheck(aligned):
    from mmcv.ops import roi_align
    g = torch.Generator().manual_seed(1)
    feats = torch.rand(
        1, 2, 6, 7, generator=g, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[0, 0.6, 1.3, 4.7, 5.2], [0, 2.1, 0.4, 6.5, 3.3]],
                        dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda x: roi_align(x, rois, (2, 2), 1.0, 2, 'avg', aligned),
        (feats, ),
        eps=1e-6,
        atol=1e-6)


def test_roi_align_max_mode_is_a_clear_error():
    from mmcv.ops import roi_align
    with pytest.raises(ext_ops.MissingOpError, match='pool_mode="max"'):
        roi_align(
            torch.rand(1, 1, 4, 4), torch.tensor([[0, 0, 0, 2.0, 2.0]]),
            (2, 2), 1.0, 0, 'max', True)


def test_other_ops_fail_when_called_not_at_import():
    import mmcv
    import mmcv.ops  # noqa: F401  imports every op module
    with pytest.raises(ext_ops.MissingOpError) as info:
        mmcv._ext.sigmoid_focal_loss_forward()
    message = str(info.value)
    assert 'sigmoid_focal_loss_forward' in message
    assert 'compiled mmcv' in message and 'mim install' in message


def test_ext_loader_contract():
    from mmcv.utils import ext_loader
    assert ext_loader.check_ops_exist()
    ext = ext_loader.load_ext('_ext', ['nms', 'roi_align_forward', 'anything'])
    assert ext.nms is ext_ops.nms


def test_install_is_skipped_when_compiled_mmcv_exists(monkeypatch):
    monkeypatch.setattr(ext_ops, 'compiled_mmcv_available', lambda: True)
    assert ext_ops.install() is False
