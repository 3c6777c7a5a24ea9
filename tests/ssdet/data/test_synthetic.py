import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from ssdet.data import synthetic
from ssdet.data.synthetic import CLASSES, generate, render_image

TINY = dict(num_unlabeled=4, num_train=5, num_val=3, num_test=2, size=(64, 80))


def _files(root):
    """{relative path: bytes} of every file under root."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


def _load(root, split):
    with open(osp.join(root, 'annotations', f'{split}.json')) as f:
        return json.load(f)


def test_same_seed_gives_identical_files(tmp_path):
    generate(str(tmp_path / 'a'), seed=3, **TINY)
    generate(str(tmp_path / 'b'), seed=3, **TINY)
    a, b = _files(tmp_path / 'a'), _files(tmp_path / 'b')
    assert len(a) == 5 + 3 + 2 + 4 + 4  # images, 3 annotation files, summary
    assert a == b
    generate(str(tmp_path / 'c'), seed=4, **TINY)
    c = _files(tmp_path / 'c')
    assert a.keys() == c.keys()
    assert a['images/train/000000.png'] != c['images/train/000000.png']


def test_images_depend_only_on_seed_split_and_index(tmp_path):
    generate(str(tmp_path / 'small'), seed=0, **TINY)
    generate(str(tmp_path / 'big'), seed=0, **dict(
        TINY, num_unlabeled=6, num_train=7, num_val=3, num_test=3))
    small, big = _files(tmp_path / 'small'), _files(tmp_path / 'big')
    for path, data in small.items():
        if path.endswith('.png'):
            assert big[path] == data, path
    # Splits are drawn from different streams.
    assert small['images/train/000000.png'] != small['unlabeled/000000.png']


def test_coco_files_are_valid(synthetic_root):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    for split, num in (('train', 24), ('val', 8)):
        ann_file = osp.join(synthetic_root, 'annotations', f'{split}.json')
        coco = COCO(ann_file)
        assert [c['name']
                for c in coco.loadCats(coco.getCatIds())] == list(CLASSES)
        assert coco.getCatIds() == [1, 2, 3, 4, 5]
        data = _load(synthetic_root, split)
        img_ids = [im['id'] for im in data['images']]
        ann_ids = [a['id'] for a in data['annotations']]
        assert img_ids == list(range(1, num + 1))
        assert len(set(ann_ids)) == len(ann_ids) > 0
        for im in data['images']:
            assert im['file_name'] == f'{split}/{im["id"] - 1:06d}.png'
            img = cv2.imread(
                osp.join(synthetic_root, 'images', im['file_name']))
            assert img.shape == (im['height'], im['width'], 3) == (96, 128, 3)
        for a in data['annotations']:
            im = coco.imgs[a['image_id']]
            x, y, w, h = a['bbox']
            assert all(isinstance(v, int) for v in a['bbox'])
            assert x >= 0 and y >= 0 and w >= 1 and h >= 1
            assert x + w <= im['width'] and y + h <= im['height']
            assert a['area'] == w * h
            assert a['iscrowd'] == 0
            assert 1 <= a['category_id'] <= len(CLASSES)
        # The ground truth scored as detections must give AP 1.
        dets = coco.loadRes([
            dict(
                image_id=a['image_id'],
                category_id=a['category_id'],
                bbox=a['bbox'],
                score=1.0) for a in data['annotations']
        ])
        ev = COCOeval(coco, dets, 'bbox')
        ev.params.areaRng = [[0, 1e10]]
        ev.params.areaRngLbl = ['all']
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        assert ev.stats[0] == pytest.approx(1.0)


def test_boxes_are_tight_around_visible_pixels():
    for index in range(12):
        r = render_image(96, 128, synthetic._image_rng(0, 'train', index))
        assert r.image.shape == (96, 128, 3) and r.image.dtype == np.uint8
        labeled = {obj['index']: obj for obj in r.objects}
        for k, label in enumerate(r.shape_labels):
            ys, xs = np.nonzero(r.owner == k)
            if label < 0 or len(ys) == 0:
                assert k not in labeled
                continue
            # Every visible class object is labeled (or counted as dropped),
            # with the tight box of its visible pixels.
            if k not in labeled:
                assert r.dropped > 0
                continue
            obj = labeled[k]
            assert obj['label'] == label
            assert obj['bbox'] == [
                int(xs.min()),
                int(ys.min()),
                int(xs.max() - xs.min() + 1),
                int(ys.max() - ys.min() + 1)
            ]
            assert obj['visible'] >= synthetic.MIN_VISIBLE_FRACTION


def test_classes_and_size_buckets_all_present(tmp_path):
    out = str(tmp_path / 'moderate')
    summary = generate(
        out,
        seed=0,
        num_unlabeled=0,
        num_train=40,
        num_val=0,
        num_test=0,
        size=(192, 256))
    train = summary['splits']['train']
    assert all(n > 0 for n in train['per_class'].values()), train
    assert all(n > 0 for n in train['per_size'].values()), train
    assert list(train['per_size']) == ['small', 'medium', 'large']
    # The summary agrees with the annotation file.
    anns = _load(out, 'train')['annotations']
    assert train['annotations'] == len(anns)
    for i, name in enumerate(CLASSES):
        assert train['per_class'][name] == sum(a['category_id'] == i + 1
                                               for a in anns)
    for bucket in ('small', 'medium', 'large'):
        assert train['per_size'][bucket] == sum(
            synthetic.size_bucket(a['area']) == bucket for a in anns)
    with open(osp.join(out, 'summary.json')) as f:
        assert json.load(f) == {
            k: v
            for k, v in summary.items() if k != 'out_dir'
        }
    # The generator settings travel with the data (the demo checks them).
    assert summary['knobs'] == synthetic.knobs()
    assert set(summary['knobs']) == set(synthetic.KNOB_NAMES)
    assert summary['knobs']['NOISE_SIGMA'] == list(synthetic.NOISE_SIGMA)


def test_size_bucket_edges():
    assert synthetic.size_bucket(32**2 - 1) == 'small'
    assert synthetic.size_bucket(32**2) == 'medium'
    assert synthetic.size_bucket(96**2 - 1) == 'medium'
    assert synthetic.size_bucket(96**2) == 'large'


def test_unlabeled_pool_has_no_labels_and_is_larger(synthetic_root):
    names = sorted(os.listdir(osp.join(synthetic_root, 'unlabeled')))
    assert names == [f'{i:06d}.png' for i in range(48)]
    assert len(names) > 24 + 8
    referenced = {
        im['file_name']
        for split in ('train', 'val')
        for im in _load(synthetic_root, split)['images']
    }
    assert not any('unlabeled' in f for f in referenced)
    assert sorted(os.listdir(osp.join(synthetic_root, 'annotations'))) == [
        'test.json', 'train.json', 'val.json'
    ]
    img = cv2.imread(osp.join(synthetic_root, 'unlabeled', names[0]))
    assert img.shape == (96, 128, 3)


def test_force_is_needed_to_overwrite(tmp_path):
    out = tmp_path / 'out'
    generate(str(out), seed=0, **TINY)
    with pytest.raises(FileExistsError, match='force'):
        generate(str(out), seed=0, **TINY)
    # A stale image of a larger earlier run goes, files of others stay.
    stale = out / 'unlabeled' / '000099.png'
    stale.write_bytes(b'old')
    (out / 'notes.txt').write_text('mine')
    before = _files(out)
    summary = generate(str(out), seed=0, force=True, **TINY)
    assert summary['splits']['unlabeled'] == dict(images=4)
    assert not stale.exists()
    assert (out / 'notes.txt').read_text() == 'mine'
    after = _files(out)
    del before['unlabeled/000099.png']
    assert after == before
    assert not [p for p in after if p.endswith('.tmp')]

    a_file = tmp_path / 'file'
    a_file.write_text('x')
    with pytest.raises(FileExistsError, match='not a folder'):
        generate(str(a_file), **TINY)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='num_train'):
        generate(str(tmp_path / 'x'), num_train=-1)
    with pytest.raises(ValueError, match='num_test'):
        generate(str(tmp_path / 'x'), num_test=-1)
    with pytest.raises(ValueError, match='size'):
        generate(str(tmp_path / 'y'), size=(16, 16))


def test_config_loads_with_mmdet(synthetic_root, repo_root):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    register_all_modules()
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', '_base_', 'datasets',
                 'synthetic_detection.py'))
    assert cfg.metainfo['classes'] == CLASSES
    assert cfg.val_evaluator['classwise'] is True
    assert cfg.val_evaluator['ann_file'] == (
        cfg.data_root + cfg.val_dataloader.dataset.ann_file)
    train = _load(synthetic_root, 'train')
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        ds_cfg = loader.dataset.copy()
        ds_cfg.data_root = synthetic_root + '/'
        dataset = DATASETS.build(ds_cfg)
        assert dataset.metainfo['classes'] == CLASSES
        assert len(dataset) == (8 if dataset.test_mode else 24)
        for i in range(2):
            sample = dataset[i]
            # 96 x 128 images are resized to the configured 192 x 256.
            assert tuple(sample['inputs'].shape) == (3, 192, 256)
            assert len(sample['data_samples'].gt_instances.bboxes) > 0
    # Boxes are read as the JSON boxes, in x1, y1, x2, y2.
    dataset = DATASETS.build(
        dict(
            cfg.train_dataloader.dataset,
            data_root=synthetic_root + '/',
            pipeline=[dict(type='LoadAnnotations', with_bbox=True)]))
    info = dataset[0]
    expected = [[x, y, x + w, y + h] for a in train['annotations']
                if a['image_id'] == info['img_id']
                for x, y, w, h in [a['bbox']]]
    assert info['gt_bboxes'].tensor.tolist() == expected
    assert info['img_path'] == osp.join(synthetic_root, 'images', 'train',
                                        '000000.png')


def test_held_out_test_split(tmp_path):
    out = str(tmp_path / 'with_test')
    summary = generate(out, seed=0, **TINY)
    test = _load(out, 'test')
    assert summary['splits']['test']['images'] == 2
    assert [im['file_name'] for im in test['images']
            ] == ['test/000000.png', 'test/000001.png']
    assert test['categories'] == _load(out, 'val')['categories']
    files = _files(out)
    # its own stream: not a copy of val or train
    assert files['images/test/000000.png'] != files['images/val/000000.png']
    assert files['images/test/000000.png'] != files['images/train/000000.png']
    # num_test=0 writes no test split at all
    none = str(tmp_path / 'no_test')
    summary = generate(none, seed=0, **dict(TINY, num_test=0))
    assert 'test' not in summary['splits']
    assert not osp.exists(osp.join(none, 'annotations', 'test.json'))
    assert not osp.exists(osp.join(none, 'images', 'test'))


def test_objects_of_an_image_come_from_its_scene():
    seen = set()
    for i in range(40):
        rendered = render_image(192, 256, np.random.default_rng([7, i]))
        labels = {obj['label'] for obj in rendered.objects}
        assert len(labels) <= synthetic.SCENE_CLASSES
        seen |= labels
    assert seen == set(range(len(CLASSES)))
