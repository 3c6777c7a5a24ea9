"""The ``mmcv._ext`` provider against numpy ports of mmcv's CPU kernels.

The ports below restate, step by step and in the kernels' dtype, what
compiled mmcv computes in ``mmcv/ops/csrc/pytorch/cpu/nms.cpp``
(``nms_cpu``) and ``mmcv/ops/csrc/pytorch/cpu/roi_align.cpp``
(``ROIAlignForward``, avg mode). They are deliberately slow and literal;
the provider delegates to torchvision and must decide exactly as they do.
"""
import math

import numpy as np
import pytest
import torch

from custom_modules.compat import ext_ops

pytestmark = pytest.mark.skipif(
    not ext_ops.install(), reason='compiled mmcv is installed; the provider '
    'is not in use')

#: Every threshold from 0.05 to 0.95 in steps of 0.05 (as Python writes
#: the decimal literals).
THRESHOLDS = [k / 20 for k in range(1, 20)]

#: mmcv's assert message (its wording, "cannot have non-negative size").
MMCV_ROI_ASSERT = 'ROIs in ROIAlign cannot have non-negative size!'


def mmcv_nms_cpu(boxes, scores, iou_threshold, offset=0):
    """Port of mmcv's ``nms_cpu``: greedy NMS in float32.

    Args:
        boxes (np.ndarray): ``(N, 4)`` boxes, read as float32.
        scores (np.ndarray): ``(N, )`` scores; visited in descending order
            (stable, as the provider promises for ties).
        iou_threshold (float): Passed to the kernel as a C++ ``float``.
        offset (int): Added to every width and height (0 or 1).

    Returns:
        list[int]: The kept indices, by descending score.
    """
    boxes = np.asarray(boxes, dtype=np.float32)
    x1, y1, x2, y2 = (boxes[:, k] for k in range(4))
    thr = np.float32(iou_threshold)
    off = np.float32(offset)
    zero = np.float32(0)
    areas = (x2 - x1 + off) * (y2 - y1 + off)
    order = np.argsort(-np.asarray(scores), kind='stable')
    select = np.ones(len(order), dtype=bool)
    with np.errstate(divide='ignore', invalid='ignore'):
        for _i in range(len(order)):
            if not select[_i]:
                continue
            i = order[_i]
            for _j in range(_i + 1, len(order)):
                if not select[_j]:
                    continue
                j = order[_j]
                xx1 = max(x1[i], x1[j])
                yy1 = max(y1[i], y1[j])
                xx2 = min(x2[i], x2[j])
                yy2 = min(y2[i], y2[j])
                w = max(zero, xx2 - xx1 + off)
                h = max(zero, yy2 - yy1 + off)
                inter = w * h
                ovr = inter / (areas[i] + areas[j] - inter)
                if ovr > thr:
                    select[_j] = False
    return order[select].tolist()


def mmcv_float32_iou(box_a, box_b, offset=0):
    """The float32 IoU that ``nms_cpu`` compares with its threshold."""
    a = np.asarray(box_a, dtype=np.float32)
    b = np.asarray(box_b, dtype=np.float32)
    off, zero = np.float32(offset), np.float32(0)
    area_a = (a[2] - a[0] + off) * (a[3] - a[1] + off)
    area_b = (b[2] - b[0] + off) * (b[3] - b[1] + off)
    w = max(zero, min(a[2], b[2]) - max(a[0], b[0]) + off)
    h = max(zero, min(a[3], b[3]) - max(a[1], b[1]) + off)
    inter = w * h
    return inter / (area_a + area_b - inter)


def mmcv_bilinear_weights(height, width, y, x, dtype):
    """Positions and weights of one sample, mmcv's boundary rules.

    Returns:
        list[tuple[int, int, float]]: ``(row, col, weight)`` terms, in the
        kernel's order (empty outside the map).
    """
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return []
    if y <= 0:
        y = dtype(0)
    if x <= 0:
        x = dtype(0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_high = y_low = height - 1
        y = dtype(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_high = x_low = width - 1
        x = dtype(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - dtype(y_low), x - dtype(x_low)
    hy, hx = dtype(1) - ly, dtype(1) - lx
    return [(y_low, x_low, hy * hx), (y_low, x_high, hy * lx),
            (y_high, x_low, ly * hx), (y_high, x_high, ly * lx)]


def mmcv_roi_align_cpu(feats, rois, output_size, spatial_scale,
                       sampling_ratio, aligned):
    """Port of mmcv's ``ROIAlignForward`` with ``pool_mode`` avg.

    Args:
        feats (np.ndarray): ``(B, C, H, W)`` float32 or float64 features;
            every step is computed in this dtype.
        rois (np.ndarray): ``(K, 5)`` batch index, x1, y1, x2, y2.
        output_size (tuple[int, int]): Pooled height and width.
        spatial_scale (float): Passed to the kernel as a C++ ``float``.
        sampling_ratio (int): Samples per bin side; <= 0 is adaptive.
        aligned (bool): Subtract half a pixel; refuse inverted RoIs.

    Returns:
        np.ndarray: ``(K, C, PH, PW)`` pooled features.

    Raises:
        AssertionError: Where mmcv's ``AT_ASSERTM`` fails.
    """
    dtype = feats.dtype.type
    rois = np.asarray(rois, dtype=dtype)
    pooled_h, pooled_w = output_size
    _, channels, height, width = feats.shape
    scale = dtype(np.float32(spatial_scale))
    offset = dtype(0.5) if aligned else dtype(0)
    out = np.zeros((len(rois), channels, pooled_h, pooled_w), dtype=dtype)
    for n, roi in enumerate(rois):
        fmap = feats[int(roi[0])]
        start_w = roi[1] * scale - offset
        start_h = roi[2] * scale - offset
        roi_w = (roi[3] * scale - offset) - start_w
        roi_h = (roi[4] * scale - offset) - start_h
        if aligned:
            if not (roi_w >= 0 and roi_h >= 0):
                raise AssertionError(MMCV_ROI_ASSERT)
        else:
            roi_w, roi_h = max(roi_w, dtype(1)), max(roi_h, dtype(1))
        bin_h, bin_w = roi_h / dtype(pooled_h), roi_w / dtype(pooled_w)
        # ceilf: the quotient goes through float32 whatever the dtype.
        grid_h = sampling_ratio if sampling_ratio > 0 else int(
            math.ceil(np.float32(roi_h / dtype(pooled_h))))
        grid_w = sampling_ratio if sampling_ratio > 0 else int(
            math.ceil(np.float32(roi_w / dtype(pooled_w))))
        count = dtype(max(grid_h * grid_w, 1))
        for ph in range(pooled_h):
            for pw in range(pooled_w):
                terms = []
                for iy in range(grid_h):
                    y = (start_h + dtype(ph) * bin_h +
                         dtype(iy + .5) * bin_h / dtype(grid_h))
                    for ix in range(grid_w):
                        x = (start_w + dtype(pw) * bin_w +
                             dtype(ix + .5) * bin_w / dtype(grid_w))
                        terms.append(
                            mmcv_bilinear_weights(height, width, y, x,
                                                  dtype))
                for c in range(channels):
                    acc = dtype(0)
                    for sample in terms:
                        val = dtype(0)
                        for row, col, weight in sample:
                            val = val + weight * fmap[c, row, col]
                        acc = acc + val
                    out[n, c, ph, pw] = acc / count
    return out


def random_integer_boxes(rng, n):
    """Small integer boxes: their IoUs are ratios of small integers, so many
    equal a threshold such as 3/10 exactly."""
    xy = rng.integers(0, 10, size=(n, 2))
    wh = rng.integers(1, 7, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(np.float32)


def provider_nms(boxes, scores, thr, offset):
    return ext_ops.nms(
        torch.from_numpy(boxes), torch.from_numpy(scores), thr,
        offset=offset).tolist()


def test_nms_port_sanity():
    # IoU of [0, 0, 4, 1] and [0, 0, 3, 1] is 3/4; with offset 1 it is 8/10.
    boxes = np.array([[0, 0, 4, 1], [0, 0, 3, 1], [9, 9, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    assert mmcv_nms_cpu(boxes, scores, 0.7) == [0, 2]
    assert mmcv_nms_cpu(boxes, scores, 0.75) == [0, 1, 2]
    assert mmcv_nms_cpu(boxes, scores, 0.79, offset=1) == [0, 2]
    assert mmcv_nms_cpu(boxes, scores[::-1].copy(), 0.5) == [2, 1]


@pytest.mark.parametrize('offset', [0, 1])
@pytest.mark.parametrize('thr', THRESHOLDS)
def test_nms_matches_mmcv_port_on_random_integer_boxes(thr, offset):
    rng = np.random.default_rng(20240611)
    mismatches = []
    for case in range(25):
        boxes = random_integer_boxes(rng, 14)
        scores = rng.permutation(14).astype(np.float32)
        want = mmcv_nms_cpu(boxes, scores, thr, offset)
        got = provider_nms(boxes, scores, thr, offset)
        if got != want:
            mismatches.append((case, want, got))
    assert not mismatches, f'thr={thr}, offset={offset}: {mismatches}'


@pytest.mark.parametrize('offset', [0, 1])
@pytest.mark.parametrize('k', range(1, 20))
def test_nms_keeps_a_box_whose_iou_equals_the_threshold(k, offset):
    # Widths 20 and k, same rows: IoU = k / 20, the threshold exactly. mmcv
    # compares float32(k / 20) > float32(thr): equal, so both boxes stay.
    thr = k / 20
    end = 20 - offset
    boxes = np.array([[0, 0, end, 1 - offset], [0, 0, k - offset, 1 - offset],
                      [0, 5, k - offset, 6 - offset]], np.float32)
    for scores in ([0.9, 0.8, 0.7], [0.7, 0.8, 0.9]):
        scores = np.array(scores, np.float32)
        assert mmcv_float32_iou(boxes[0], boxes[1], offset) == np.float32(thr)
        want = mmcv_nms_cpu(boxes, scores, thr, offset)
        assert sorted(want) == [0, 1, 2]
        assert provider_nms(boxes, scores, thr, offset) == want
    # One float32 step below, the same pair is suppressed by both.
    below = float(np.nextafter(np.float32(thr), np.float32(0)))
    want = mmcv_nms_cpu(boxes, scores, below, offset)
    assert sorted(want) == [0, 2] or sorted(want) == [1, 2]
    assert provider_nms(boxes, scores, below, offset) == want


@pytest.mark.parametrize('offset', [0, 1])
def test_nms_ties_on_fractional_boxes_decide_as_mmcv(offset):
    # The threshold is set to the pair's float32 IoU as mmcv computes it, so
    # one rounding step anywhere (e.g. adding the offset to x2 before the
    # subtraction) flips the decision.
    rng = np.random.default_rng(7)
    scores = np.array([0.9, 0.8], np.float32)
    mismatches = []
    for case in range(300):
        xy, wh = rng.uniform(0, 50, 2), rng.uniform(1, 30, 2)
        box_a = np.concatenate([xy, xy + wh])
        box_b = box_a + rng.uniform(-0.4, 0.4, 4) * np.tile(wh, 2)
        boxes = np.stack([box_a, box_b]).astype(np.float32)
        thr = float(mmcv_float32_iou(boxes[0], boxes[1], offset))
        want = mmcv_nms_cpu(boxes, scores, thr, offset)
        assert want == [0, 1]
        got = provider_nms(boxes, scores, thr, offset)
        if got != want:
            mismatches.append((case, boxes.tolist(), thr, got))
    assert not mismatches, mismatches[:3]


def test_nms_through_mmcv_api_keeps_equal_iou():
    from mmcv.ops import nms
    boxes = torch.tensor([[0, 0, 10, 1], [0, 0, 3, 1]], dtype=torch.float)
    scores = torch.tensor([0.9, 0.8])
    _, keep = nms(boxes, scores, 0.3)  # IoU exactly 3/10
    assert keep.tolist() == [0, 1]


def random_roi_case(rng, dtype, scale, aligned, n_rois=6):
    """Features and RoIs (image coordinates) that reach past the map."""
    height, width = rng.integers(3, 8, size=2)
    feats = rng.random((2, 2, height, width)).astype(dtype)
    rois = []
    for _ in range(n_rois):
        x1 = rng.uniform(-3, width / scale + 2)
        y1 = rng.uniform(-3, height / scale + 2)
        w, h = rng.uniform(0, 3.5 / scale, size=2)
        if not aligned:
            # Inverted and tiny RoIs too: aligned=False clamps them to 1x1.
            w, h = rng.uniform(-2 / scale, 3.5 / scale, size=2)
        rois.append([rng.integers(0, 2), x1, y1, x1 + w, y1 + h])
    return feats, np.array(rois, dtype=dtype)


def provider_roi_align(feats, rois, output_size, scale, ratio, aligned):
    from mmcv.ops import roi_align
    return roi_align(
        torch.from_numpy(feats), torch.from_numpy(rois), output_size, scale,
        ratio, 'avg', aligned).numpy()


@pytest.mark.parametrize('dtype,scale', [(np.float64, 0.5),
                                         (np.float64, 1 / 3),
                                         (np.float32, 0.25),
                                         (np.float32, 1 / 3)])
@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('ratio', [0, 2])
def test_roi_align_forward_matches_mmcv_port(dtype, scale, aligned, ratio):
    rng = np.random.default_rng(11)
    atol = 1e-12 if dtype == np.float64 else 1e-6
    for _ in range(2):
        feats, rois = random_roi_case(rng, dtype, scale, aligned)
        want = mmcv_roi_align_cpu(feats, rois, (3, 2), scale, ratio, aligned)
        got = provider_roi_align(feats, rois, (3, 2), scale, ratio, aligned)
        np.testing.assert_allclose(got, want, rtol=0, atol=atol)


def test_roi_align_allows_zero_size_rois_when_aligned():
    # roi_width == 0 passes mmcv's ">= 0" assert; the grid is then empty.
    feats = np.random.default_rng(3).random((1, 1, 5, 5))
    rois = np.array([[0, 2.0, 1.0, 2.0, 4.0], [0, 1.0, 3.0, 4.0, 3.0]])
    for ratio in (0, 2):
        want = mmcv_roi_align_cpu(feats, rois, (2, 2), 1.0, ratio, True)
        got = provider_roi_align(feats, rois, (2, 2), 1.0, ratio, True)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


#: (name, rois): one valid RoI, then an inverted one (index 1).
INVERTED_ROIS = [
    ('gross_y', [[0, 1.0, 1.0, 5.0, 5.0], [0, 1.0, 6.0, 5.0, 2.0]]),
    ('gross_x', [[0, 1.0, 1.0, 5.0, 5.0], [0, 7.5, 1.0, 2.0, 4.0]]),
    ('barely_y', [[0, 1.0, 1.0, 5.0, 5.0], [0, 1.0, 3.0, 5.0, 2.99]]),
    ('barely_x', [[0, 1.0, 1.0, 5.0, 5.0], [0, 4.0, 1.0, 3.999, 4.0]]),
]


def roi_error_checks(message, rois):
    bad = rois[1]
    assert 'RoI 1 ' in message
    for name, value in zip(('x1', 'y1', 'x2', 'y2'), bad[1:]):
        assert f'{name}={float(np.float32(value)):.9g}' in message
    assert 'aligned=False' in message and 'x2 >= x1 and y2 >= y1' in message


@pytest.mark.parametrize('ratio', [0, 2])
@pytest.mark.parametrize('case', INVERTED_ROIS, ids=lambda c: c[0])
def test_roi_align_forward_refuses_inverted_rois(case, ratio):
    rois = np.array(case[1], np.float32)
    feats = np.random.default_rng(5).random((1, 2, 8, 8)).astype(np.float32)
    with pytest.raises(AssertionError, match='non-negative size'):
        mmcv_roi_align_cpu(feats, rois, (2, 2), 1.0, ratio, True)
    with pytest.raises((RuntimeError, ValueError)) as info:
        provider_roi_align(feats, rois, (2, 2), 1.0, ratio, True)
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value, ValueError)
    assert 'roi_align_forward' in str(info.value)
    roi_error_checks(str(info.value), rois)


@pytest.mark.parametrize('case', INVERTED_ROIS, ids=lambda c: c[0])
def test_roi_align_backward_refuses_inverted_rois(case):
    rois = torch.tensor(case[1])
    grad_input = torch.zeros(1, 2, 8, 8)
    empty = rois.new_zeros(0)
    with pytest.raises((RuntimeError, ValueError)) as info:
        ext_ops.roi_align_backward(
            torch.ones(2, 2, 2, 2), rois, empty, empty, grad_input, 2, 2,
            1.0, 0, 1, True)
    assert 'roi_align_backward' in str(info.value)
    roi_error_checks(str(info.value), rois.numpy())
    assert not grad_input.any()


@pytest.mark.parametrize('case', INVERTED_ROIS, ids=lambda c: c[0])
def test_roi_align_unaligned_clamps_inverted_rois(case):
    from mmcv.ops import roi_align
    rois = np.array(case[1], np.float64)
    feats = np.random.default_rng(6).random((1, 2, 8, 8))
    for ratio in (0, 2):
        want = mmcv_roi_align_cpu(feats, rois, (2, 2), 1.0, ratio, False)
        got = provider_roi_align(feats, rois, (2, 2), 1.0, ratio, False)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # Backward runs too and spreads the gradient over the clamped 1x1 RoI.
    x = torch.from_numpy(feats).requires_grad_()
    roi_align(x, torch.from_numpy(rois), (2, 2), 1.0, 0, 'avg',
              False).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.sum() > 0
