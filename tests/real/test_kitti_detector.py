"""The KITTI recipe at native resolution on real frames: the 75 frames
converted, the tiny recipe config (ResNet-18, the recipe's 1242 x 375
pipeline) trained a few iterations on the CPU with tools/train.py, then
tools/test.py prints both KITTI tables and mmdet's COCO numbers."""
import json
import math
import os.path as osp
import re
from collections import Counter

import pytest

from ssdet.data.kitti import KITTI_CLASSES, cfg_options

pytestmark = pytest.mark.slow

TINY = 'configs/kitti/faster-rcnn_r18_fpn_1e_kitti-tiny.py'
ITERS = 3  # frames trained on, one a batch
VAL_RATIO = 0.08  # 6 of the 75 frames are evaluated
DIFFICULTIES = ('easy', 'moderate', 'hard')


def table_rows(out, title):
    """The rows of the terminaltables table titled ``title`` in ``out``,
    as lists of stripped cells (header first)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith(f'+{title}'))
    rows = []
    for line in lines[start + 1:]:
        if line.startswith('|'):
            rows.append([c.strip() for c in line.strip('|').split('|')])
        elif not line.startswith('+'):
            break
    return rows


def test_tiny_recipe_on_real_frames(run_tool, train_losses, kitti75_root,
                                    r18_torchvision, tmp_path):
    from ssdet.checkpoints import convert as convert_weights
    from ssdet.data.kitti import convert
    ann_dir = str(tmp_path / 'annotations')
    convert(kitti75_root, ann_dir, val_ratio=VAL_RATIO, seed=0)
    with open(osp.join(ann_dir, 'val.json')) as f:
        val = json.load(f)
    assert len(val['images']) == 6
    names = {c['id']: c['name'] for c in val['categories']}
    gt_boxes = Counter(names[a['category_id']] for a in val['annotations']
                       if not a['iscrowd'])
    ckpt = str(tmp_path / 'r18_mmdet.pth')
    convert_weights(
        r18_torchvision, ckpt, src_format='torchvision', target='mmdet')

    work = tmp_path / 'work'
    options = cfg_options(kitti75_root, ann_dir) + [
        f'model.backbone.init_cfg.checkpoint={ckpt}', 'randomness.seed=0'
    ]
    rc, out = run_tool(
        'train.py', TINY, '--work-dir', work, '--cfg-options', *options,
        'train_dataloader.batch_size=1',
        f'train_dataloader.dataset.indices={ITERS}',
        'train_cfg.val_begin=2',  # tools/test.py evaluates
        'log_processor.window_size=1')
    assert rc == 0, out[-4000:]
    assert 'VerifiedPretrained: ResNet <- ' in out
    # native resolution: the frames are fed at (up to) 1242 x 375
    assert re.search(r'Epoch\(train\) \[1\]\[1/3\]', out), out[-3000:]
    losses = train_losses(work)
    assert len(losses) == ITERS
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0], losses

    metrics_file = tmp_path / 'metrics.json'
    # An untrained detector scores every object below mmdet's 0.05: keep
    # every detection so that both metrics have something to evaluate.
    rc, out = run_tool('test.py', TINY, work / 'epoch_1.pth', '--work-dir',
                       work, '--metrics-out', metrics_file, '--cfg-options',
                       *options, 'model.test_cfg.rcnn.score_thr=0')
    assert rc == 0, out[-4000:]
    assert 'KITTI evaluation on 6 images' in out, out[-3000:]
    metrics = json.loads(metrics_file.read_text())['metrics']

    # the paper table: AP50 of each class with ground truth, n/a without
    paper = table_rows(out, 'KITTI AP50')
    assert paper[0] == ['class', 'AP50', 'GT boxes']
    assert [r[0] for r in paper[1:]] == list(KITTI_CLASSES) + ['mAP']
    present = []
    for cls, ap, boxes in paper[1:-1]:
        assert int(boxes) == gt_boxes[cls]
        if gt_boxes[cls]:
            assert 0 <= float(ap) <= 100
            assert metrics[f'kitti/AP50_{cls}'] == pytest.approx(
                float(ap), abs=0.005)
            present.append(float(ap))
        else:
            assert ap == 'n/a' and f'kitti/AP50_{cls}' not in metrics
    assert len(present) >= 3  # Car, Pedestrian and more in these frames
    assert float(paper[-1][1]) == pytest.approx(
        sum(present) / len(present), abs=0.01)

    # the official table: Easy / Moderate / Hard, R40 and R11
    devkit = table_rows(out, 'KITTI devkit')
    assert devkit[0] == ['class'] + [
        f'{d.capitalize()} {kind}' for d in DIFFICULTIES
        for kind in ('R40', 'R11')
    ]
    assert [r[0] for r in devkit[1:]] == list(KITTI_CLASSES)
    defined = 0
    for cls, *cells in devkit[1:]:
        keys = [
            f'kitti/{cls}_{d}_{kind}' for d in DIFFICULTIES
            for kind in ('R40', 'R11')
        ]
        for key, cell in zip(keys, cells):
            if cell == 'n/a':
                assert key not in metrics
            else:
                assert 0 <= float(cell) <= 100
                assert metrics[key] == pytest.approx(float(cell), abs=0.005)
                defined += 1
    assert any(metrics.get(f'kitti/Car_{d}_R40') is not None
               for d in DIFFICULTIES)
    assert defined >= 6

    # mmdet's CocoMetric on the same detections, sizes included
    for key in ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s',
                'bbox_mAP_m', 'bbox_mAP_l'):
        assert re.search(rf'Epoch\(test\).*coco/{key}: ', out), key
        # -1: no ground truth of that size (pycocotools)
        assert metrics[f'coco/{key}'] == -1 or \
            0 <= metrics[f'coco/{key}'] <= 1
