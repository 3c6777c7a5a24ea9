"""Tests of custom_modules/evaluation/kitti_metric.py and of the dataset
config configs/_base_/datasets/kitti_2d.py on the real KITTI fixture."""
import io
import json
import logging
import os
import os.path as osp
import re

import pytest
import torch

from ssdet.data.kitti import KITTI_CLASSES, convert

KITTI_2D = osp.abspath(
    osp.join(
        osp.dirname(__file__), '..', '..', '..', 'configs', '_base_',
        'datasets', 'kitti_2d.py'))


@pytest.fixture(scope='module')
def kitti_data(kitti_root, tmp_path_factory):
    """data/kitti layout: training/ (the fixture) + annotations/."""
    root = tmp_path_factory.mktemp('kitti_data')
    os.symlink(osp.join(kitti_root, 'training'), root / 'training')
    convert(kitti_root, str(root / 'annotations'), val_ratio=0.5, seed=0)
    convert(kitti_root, str(root / 'all'), val_ratio=0)
    return root


def _samples_from_gt(coco, drop=()):
    """Ground truth of each image as detections (score 1)."""
    samples = []
    for img in coco['images']:
        anns = [
            a for a in coco['annotations']
            if a['image_id'] == img['id'] and not a['iscrowd'] and (
                img['id'], a['kitti_line']) not in drop
        ]
        samples.append(
            dict(
                img_id=img['id'],
                ori_shape=(img['height'], img['width']),
                pred_instances=dict(
                    bboxes=torch.tensor([a['kitti_bbox'] for a in anns],
                                        dtype=torch.float32).reshape(-1, 4),
                    scores=torch.ones(len(anns)),
                    labels=torch.tensor([a['category_id'] - 1 for a in anns],
                                        dtype=torch.int64))))
    return samples


def _run(ann_file, samples, batch=2, coco=True):
    """Evaluate with the evaluators of kitti_2d.py (CocoMetric and
    KittiMetric), or with KittiMetric alone."""
    from mmengine.config import Config
    from mmengine.evaluator import Evaluator
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    metrics = Config.fromfile(KITTI_2D).val_evaluator
    for m in metrics:
        m.ann_file = ann_file
    evaluator = Evaluator(metrics if coco else metrics[1:])
    evaluator.dataset_meta = dict(classes=KITTI_CLASSES)
    logger = MMLogger.get_current_instance()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        for i in range(0, len(samples), batch):
            evaluator.process(samples[i:i + batch])
        results = evaluator.evaluate(len(samples))
    finally:
        logger.removeHandler(handler)
    return results, stream.getvalue()


def test_registered():
    from mmdet.registry import METRICS

    from custom_modules.evaluation import KittiMetric
    assert METRICS.get('KittiMetric') is KittiMetric


def test_ground_truth_as_detections(kitti_data):
    ann_file = str(kitti_data / 'all' / 'train.json')
    coco = json.load(open(ann_file))
    results, log = _run(ann_file, _samples_from_gt(coco))
    for cls in ('Car', 'Truck', 'Pedestrian', 'Cyclist'):
        assert results[f'kitti/AP50_{cls}'] == pytest.approx(100.0)
    for cls in ('Van', 'Person_sitting', 'Tram'):  # absent from GT
        assert f'kitti/AP50_{cls}' not in results
    assert results['kitti/mAP'] == pytest.approx(100.0)
    # devkit quirk on few boxes: 3 valid moderate cars -> R40 2/40
    assert results['kitti/Car_moderate_R40'] == pytest.approx(5.0)
    assert results['kitti/Car_moderate_R11'] == pytest.approx(100 / 11)
    assert results['kitti/Pedestrian_easy_R40'] == pytest.approx(2.5)
    assert 'kitti/Truck_easy_R40' not in results  # no valid Easy truck
    assert 'kitti/Cyclist_hard_R40' not in results  # occlusion 3
    assert results['coco/bbox_mAP'] == pytest.approx(1.0)
    assert results['coco/bbox_mAP_50'] == pytest.approx(1.0)
    assert {'coco/bbox_mAP_s', 'coco/bbox_mAP_m',
            'coco/bbox_mAP_l'} <= set(results)
    # the tables go through the mmengine logger
    assert re.search(r'\| Car +\| 100.00 +\| 5 +\|', log)
    assert re.search(r'\| Van +\| n/a +\| 0 +\|', log)
    assert 'Moderate R40' in log


def test_missed_detection_lowers_ap(kitti_data):
    ann_file = str(kitti_data / 'all' / 'train.json')
    coco = json.load(open(ann_file))
    # drop the only Pedestrian of image 5: 1 of 2 pedestrians found
    results, _ = _run(ann_file, _samples_from_gt(coco, drop={(5, 1)}))
    assert results['kitti/AP50_Pedestrian'] == pytest.approx(50.0)
    assert results['kitti/mAP'] == pytest.approx((100 * 3 + 50) / 4)
    assert results['coco/bbox_mAP'] < 1.0


def test_detections_in_dontcare_are_ignored(kitti_data):
    ann_file = str(kitti_data / 'all' / 'train.json')
    coco = json.load(open(ann_file))
    samples = _samples_from_gt(coco)
    # image 3: a confident Car inside its large DontCare region
    # (5.00 229.89 214.12 367.61)
    s = next(s for s in samples if s['img_id'] == 3)
    pred = s['pred_instances']
    pred['bboxes'] = torch.cat(
        [pred['bboxes'],
         torch.tensor([[20.0, 240.0, 200.0, 360.0]])])
    pred['scores'] = torch.cat([pred['scores'], torch.tensor([2.0])])
    pred['labels'] = torch.cat([pred['labels'], torch.tensor([0])])
    results, _ = _run(ann_file, samples)
    assert results['kitti/AP50_Car'] == pytest.approx(100.0)
    assert results['kitti/Car_moderate_R40'] == pytest.approx(5.0)
    assert results['coco/bbox_mAP'] == pytest.approx(1.0)


def test_unknown_image_id_is_an_error(kitti_data):
    ann_file = str(kitti_data / 'annotations' / 'val.json')
    coco = json.load(open(str(kitti_data / 'annotations' / 'train.json')))
    with pytest.raises(KeyError, match='annotation file'):
        _run(ann_file, _samples_from_gt(coco), coco=False)


def test_config_dataset_ignores_dontcare(kitti_data):
    from mmdet.registry import DATASETS, METRICS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(KITTI_2D)
    # COCO AP and the KITTI tables, two metrics on the same file
    assert [m.type for m in cfg.val_evaluator] == ['CocoMetric', 'KittiMetric']
    assert {m.ann_file
            for m in cfg.val_evaluator} == {'data/kitti/annotations/val.json'}
    assert cfg.train_dataloader.dataset.metainfo.classes == KITTI_CLASSES
    init_default_scope('mmdet')
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = str(kitti_data) + '/'
    ds_cfg.pipeline = []
    dataset = DATASETS.build(ds_cfg)
    with open(kitti_data / 'annotations' / 'train.json') as f:
        coco = json.load(f)
    n_targets = sum(not a['iscrowd'] for a in coco['annotations'])
    n_ignore = sum(a['iscrowd'] for a in coco['annotations'])
    instances = [
        inst for i in range(len(dataset))
        for inst in dataset.get_data_info(i)['instances']
    ]
    assert sum(inst['ignore_flag'] == 0 for inst in instances) == n_targets
    assert sum(inst['ignore_flag'] == 1 for inst in instances) == n_ignore
    info = dataset.get_data_info(0)
    assert info['img_path'].endswith(
        osp.join('training', 'image_2', f'{info["img_id"]:06d}.png'))
    # the packed sample keeps DontCare out of the training targets
    ds_cfg.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='PackDetInputs')
    ]
    dataset = DATASETS.build(ds_cfg)
    idx = next(
        i for i in range(len(dataset))
        if any(inst['ignore_flag']
               for inst in dataset.get_data_info(i)['instances']))
    packed = dataset[idx]['data_samples']
    labels = dataset.get_data_info(idx)['instances']
    assert len(packed.gt_instances) == sum(not x['ignore_flag']
                                           for x in labels)
    assert len(packed.ignored_instances) == sum(x['ignore_flag']
                                                for x in labels)
    for ev in cfg.val_evaluator:
        ev.ann_file = str(kitti_data / 'annotations' / 'val.json')
        assert type(METRICS.build(ev)).__name__ == ev.type
