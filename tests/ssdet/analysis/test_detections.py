"""Per-image matching and the side-by-side comparison tool."""
import json
import os
import pickle

import numpy as np
import pytest
import torch

from ssdet.analysis.detections import (PredictionFormatError, iou_matrix,
                                       load_predictions, match, rank_images)

CONFIG = 'configs/demo/faster-rcnn_r18_fpn_synthetic.py'


def pred(boxes, scores, labels):
    return dict(bboxes=np.asarray(boxes, float).reshape(-1, 4),
                scores=np.asarray(scores, float),
                labels=np.asarray(labels, int))


def test_iou_and_greedy_matching():
    gt_boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)
    gt_labels = np.array([0, 1])
    assert iou_matrix(gt_boxes, gt_boxes[:1])[:, 0] == pytest.approx([1, 0])
    p = pred([[0, 0, 10, 10], [0, 0, 10, 9], [20, 20, 30, 30],
              [50, 50, 60, 60], [20, 20, 30, 30]],
             [0.9, 0.95, 0.8, 0.7, 0.1], [0, 0, 0, 1, 1])
    keep, tp = match(p, gt_boxes, gt_labels, score_thr=0.3)
    # highest score first; the duplicate and the wrong class are FPs; the
    # low-score box is not counted
    assert keep.tolist() == [1, 0, 2, 3]
    assert tp.tolist() == [True, False, False, False]


def test_iou_matrix_values_and_empty_inputs():
    a = np.array([[0, 0, 10, 10], [0, 0, 20, 20]], float)
    b = np.array([[5, 0, 15, 10], [30, 30, 40, 40], [0, 0, 10, 10]], float)
    assert iou_matrix(a, b) == pytest.approx(
        np.array([[50 / 150, 0, 1], [100 / 400, 0, 100 / 400]]))
    assert iou_matrix(a, np.zeros((0, 4))).shape == (2, 0)
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


def test_rank_images_puts_the_biggest_difference_first():
    gt = {i: dict(img_path=f'{i}.png', bboxes=np.array([[0, 0, 10, 10.]]),
                  labels=np.array([0])) for i in (1, 2, 3)}
    good = {i: pred([[0, 0, 10, 10]], [0.9], [0]) for i in (1, 2, 3)}
    worse = dict(good)
    worse[2] = pred([[50, 50, 60, 60]], [0.9], [0])
    worse[3] = pred([[0, 0, 10, 10], [30, 30, 40, 40]], [0.9, 0.8], [0, 0])
    diffs = rank_images(gt, [good, worse])
    assert [d.key for d in diffs] == [2, 3, 1]
    assert (diffs[0].tp, diffs[0].fp) == ((1, 0), (0, 1))
    with pytest.raises(PredictionFormatError, match='share no image'):
        rank_images({9: gt[1]}, [good, worse])


def dump(path, items):
    with open(path, 'wb') as f:
        pickle.dump(items, f)


def test_load_predictions_checks_the_format(tmp_path):
    path = str(tmp_path / 'bad.pkl')
    dump(path, {'a': 1})
    with pytest.raises(PredictionFormatError, match='list of dicts'):
        load_predictions(path)
    dump(path, [dict(img_id=1)])
    with pytest.raises(PredictionFormatError, match='item 0 has no'):
        load_predictions(path)


def test_compare_detections_tool(synthetic_root, tmp_path, load_tool,
                                 repo_root, monkeypatch, capsys):
    """Two DumpResults files in mmengine's format (tensors, as tools/test.py
    --out writes them): A finds every object, B misses those of image 2."""
    monkeypatch.chdir(repo_root)
    with open(os.path.join(synthetic_root, 'annotations', 'val.json')) as f:
        coco = json.load(f)
    files = {im['id']: im['file_name'] for im in coco['images']}
    a_items, b_items = [], []
    for img_id, name in files.items():
        anns = [x for x in coco['annotations'] if x['image_id'] == img_id]
        boxes = torch.tensor([[x, y, x + w, y + h]
                              for x, y, w, h in (a['bbox'] for a in anns)],
                             dtype=torch.float32).reshape(-1, 4)
        labels = torch.tensor([a['category_id'] - 1 for a in anns])
        scores = torch.full((len(anns), ), 0.9)
        item = dict(img_id=img_id,
                    img_path=os.path.join(synthetic_root, 'images', name),
                    ori_shape=(96, 128),
                    pred_instances=dict(bboxes=boxes, scores=scores,
                                        labels=labels))
        a_items.append(item)
        if img_id == 2:
            item = dict(item, pred_instances=dict(
                bboxes=torch.zeros((0, 4)), scores=torch.zeros(0),
                labels=torch.zeros(0, dtype=torch.long)))
        b_items.append(item)
    assert any(a['image_id'] == 2 for a in coco['annotations'])
    dump(tmp_path / 'a.pkl', a_items)
    dump(tmp_path / 'b.pkl', b_items)
    root = synthetic_root.rstrip('/') + '/'
    out = str(tmp_path / 'cmp')
    tool = load_tool('analysis', 'compare_detections.py')
    code = tool.main([
        CONFIG, str(tmp_path / 'a.pkl'), str(tmp_path / 'b.pkl'), '--out',
        out, '--top', '2', '--names', 'scratch', 'SwAV', '--cfg-options',
        f'test_dataloader.dataset.data_root={root}'
    ])
    assert code == 0, capsys.readouterr().err
    pngs = sorted(f for f in os.listdir(out) if f.endswith('.png'))
    assert len(pngs) == 2 and pngs[0].startswith('01_')
    assert os.path.getsize(os.path.join(out, pngs[0])) > 5000
    ranking = open(os.path.join(out, 'ranking.csv')).read().splitlines()
    assert ranking[0] == ('rank,image,num_gt,tp_scratch,tp_SwAV,fp_scratch,'
                          'fp_SwAV,figure')
    assert ranking[1].split(',')[1].endswith(files[2])
    assert len(ranking) == 1 + len(files)
    assert tool.main([CONFIG, str(tmp_path / 'a.pkl'), str(tmp_path / 'b.pkl'),
                      '--out', out]) == 2  # not empty, no --force
