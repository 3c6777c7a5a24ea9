"""Tests of ssdet/analysis/draw.py (detections drawn on real KITTI frames)
and ssdet/analysis/kitti_demo.py (the KITTI demo's report)."""
import os.path as osp
import re

import numpy as np
import pytest

from ssdet.analysis.draw import draw_detections, pick_images
from ssdet.analysis.kitti_demo import kitti_tables, write_report

CLASSES = ('Car', 'Van', 'Truck', 'Pedestrian', 'Person_sitting', 'Cyclist',
           'Tram')

# What KittiMetric logs through tools/test.py (abridged: two classes).
LOG = '''12/05 15:22:40 - mmengine - INFO - Epoch(test) [5/6]
12/05 15:22:44 - mmengine - INFO - KITTI evaluation on 6 images
+KITTI AP50------+------+----------+
| class          | AP50 | GT boxes |
+----------------+------+----------+
| Car            | 12.50 | 21      |
| Tram           | n/a  | 0        |
| mAP            | 12.50 |         |
+----------------+------+----------+
IoU >= 0.5, all-point interpolation; mAP over the classes with ground truth.
+KITTI devkit----+----------+----------+
| class          | Easy R40 | Easy R11 |
+----------------+----------+----------+
| Car            | 3.00     | 9.09     |
| Tram           | n/a      | n/a      |
+----------------+----------+----------+
evaluate_object.cpp semantics; n/a: no valid ground truth.
12/05 15:22:44 - mmengine - INFO - Epoch(test) [6/6]    coco/bbox_mAP: 0.0100
'''


def predictions_on(kitti_root, frames):
    """Made-up detections on real frames: a Car box and a weak Pedestrian
    box on each."""
    preds = {}
    for i in frames:
        preds[i] = dict(
            img_path=osp.join(kitti_root, 'training', 'image_2',
                              f'{i:06d}.png'),
            bboxes=np.array([[100, 150, 300, 250], [600, 160, 640, 260]],
                            dtype=np.float64),
            scores=np.array([0.9, 0.1]),
            labels=np.array([0, 3]))
    return preds


def test_pick_images_most_ground_truth_first():
    preds = {k: {} for k in (3, 1, 2)}
    gt = {1: dict(bboxes=np.zeros((1, 4))), 2: dict(bboxes=np.zeros((5, 4)))}
    assert pick_images(preds, gt, 2) == [2, 1]
    assert pick_images(preds, None, 2) == [1, 2]


def test_draw_detections_on_real_frames(kitti_root, tmp_path):
    from PIL import Image
    preds = predictions_on(kitti_root, (0, 1, 2))
    gt = {
        1: dict(
            img_path=preds[1]['img_path'],
            bboxes=np.array([[100., 150, 300, 250]]),
            labels=np.array([0]))
    }
    out = str(tmp_path / 'pic' / 'detections.png')
    assert draw_detections(
        preds, CLASSES, out, ground_truth=gt, num_images=2) == out
    with Image.open(out) as img:
        width, height = img.size
        pixels = np.asarray(img.convert('RGB'))
    # frame 1 (1242 x 375, ground truth | detections) above frame 0 (1224 x
    # 370, detections only, padded)
    assert (width, height) == (2 * 1242, 375 + 370)
    assert (pixels[375:, 1224:] == 255).all()  # the padding
    # the frame was drawn on, not copied: the Car box's edge
    with Image.open(preds[1]['img_path']) as frame:
        original = np.asarray(frame.convert('RGB'))
    right = pixels[:375, 1242:]
    assert (right[150, 100:300] != original[150, 100:300]).any()
    # the 0.1 Pedestrian is below the threshold: its box is not drawn
    assert (right[200, 595:599] == original[200, 595:599]).all()


def test_draw_detections_errors(tmp_path):
    with pytest.raises(ValueError, match='no prediction'):
        draw_detections({}, CLASSES, str(tmp_path / 'x.png'))
    with pytest.raises(ValueError, match='img_path'):
        draw_detections({
            7: dict(
                img_path=None,
                bboxes=np.zeros((0, 4)),
                scores=np.zeros(0),
                labels=np.zeros(0))
        }, CLASSES, str(tmp_path / 'x.png'))


def test_kitti_tables_from_the_log():
    tables = kitti_tables(LOG + LOG.replace('on 6 images', 'on 7 images'))
    lines = tables.splitlines()
    assert lines[0] == 'KITTI evaluation on 7 images'  # the last one
    assert lines[1].startswith('+KITTI AP50')
    assert lines[-1].startswith('evaluate_object.cpp semantics')
    assert '| Car            | 3.00     | 9.09     |' in lines
    with pytest.raises(ValueError, match='no KITTI evaluation'):
        kitti_tables('nothing here')
    with pytest.raises(ValueError, match='incomplete'):
        kitti_tables(LOG.split('evaluate_object')[0])


def test_write_report(tmp_path):
    out = str(tmp_path / 'results.md')
    metrics = {'coco/bbox_mAP': 0.01, 'coco/bbox_mAP_50': 0.05,
               'coco/bbox_mAP_s': -1.0, 'kitti/mAP': 12.5}
    text = write_report(
        out,
        kitti_tables(LOG),
        metrics, [['python', 'tools/train.py', 'a b.py']],
        [('train', 120.0), ('test', 30.0)],
        backbone='from scratch',
        picture=str(tmp_path / 'detections.png'),
        score_thr=0.3)
    assert open(out).read() == text
    assert 'Backbone: from scratch.' in text
    assert '| Car            | 12.50 | 21      |' in text
    # absent: n/a; -1 (no ground truth of that size): n/a
    assert re.search(r'\| +1\.0 \| +5\.0 \|( n/a +\|){4}\n', text)
    assert '![detections](detections.png)' in text
    assert "python tools/train.py 'a b.py'" in text
    assert '| total |     2.5 |' in text
