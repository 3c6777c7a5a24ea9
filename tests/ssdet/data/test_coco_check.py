"""check_coco finds what mmdet's CocoDataset does not check."""
import copy
import json

import numpy as np
import pytest
from PIL import Image

from ssdet.data.coco_check import check_coco, load_coco_json


def valid_coco():
    return {
        'images': [
            dict(id=1, file_name='train/a.png', width=64, height=48),
            dict(id=2, file_name='train/b.png', width=64, height=48),
        ],
        'annotations': [
            dict(id=1, image_id=1, category_id=1, bbox=[2, 3, 20, 10],
                 area=200, iscrowd=0),
            dict(id=2, image_id=1, category_id=2, bbox=[40, 30, 24, 18],
                 area=432, iscrowd=0),
        ],
        'categories': [dict(id=1, name='car'), dict(id=2, name='person')],
    }


def write(tmp_path, data, name='ann.json'):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def images(tmp_path, sizes=((64, 48), (64, 48))):
    root = tmp_path / 'images'
    (root / 'train').mkdir(parents=True)
    for name, (w, h) in zip('ab', sizes):
        Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(
            root / 'train' / f'{name}.png')
    return str(root)


def test_valid_file_is_ok(tmp_path):
    report = check_coco(write(tmp_path, valid_coco()), images(tmp_path))
    assert report.ok and not report.problems
    assert report.num_images == 2 and report.num_annotations == 2
    assert report.images_without_boxes == 1  # valid: a background image
    assert '0 error(s)' in report.format()


def mutate(kind):
    data = valid_coco()
    if kind == 'duplicate image id':
        data['images'][1]['id'] = 1
    elif kind == 'duplicate annotation id':
        data['annotations'][1]['id'] = 1
    elif kind == 'duplicate category id':
        data['categories'][1]['id'] = 1
    elif kind == 'box outside image':
        data['annotations'][1]['bbox'] = [50, 30, 24, 18]
    elif kind == 'empty box':
        data['annotations'][0]['bbox'] = [20, 3, -5, 10]
    elif kind == 'tiny box':
        data['annotations'][0]['bbox'] = [2, 3, 0.5, 10]
    elif kind == 'area':
        data['annotations'][0]['area'] = 0
    elif kind == 'bbox format':
        data['annotations'][0]['bbox'] = [2, 3, 20]
    elif kind == 'unknown image_id':
        data['annotations'][0]['image_id'] = 9
    elif kind == 'unknown category_id':
        data['annotations'][0]['category_id'] = 7
    elif kind == 'image size':
        data['images'][0]['width'] = 0
    elif kind == 'iscrowd':
        data['annotations'][0]['iscrowd'] = 2
    return data


@pytest.mark.parametrize('kind, where', [
    ('duplicate image id', 'images[1] (id 1)'),
    ('duplicate annotation id', 'annotations[1] (id 1)'),
    ('duplicate category id', 'categories[1] (id 1)'),
    ('box outside image', 'annotations[1] (id 2)'),
    ('empty box', 'annotations[0] (id 1)'),
    ('tiny box', 'annotations[0] (id 1)'),
    ('area', 'annotations[0] (id 1)'),
    ('bbox format', 'annotations[0] (id 1)'),
    ('unknown image_id', 'annotations[0] (id 1)'),
    ('unknown category_id', 'annotations[0] (id 1)'),
    ('image size', 'images[0] (id 1)'),
    ('iscrowd', 'annotations[0] (id 1)'),
])
def test_each_error_is_named(tmp_path, kind, where):
    report = check_coco(write(tmp_path, mutate(kind)))
    assert not report.ok
    assert report.counts[f'error:{kind}'] == 1, report.format()
    text = report.format()
    assert where in text and str(tmp_path / 'ann.json') in text


def test_box_outside_message_names_coordinates(tmp_path):
    report = check_coco(write(tmp_path, mutate('box outside image')))
    msg = report.errors[0].message
    assert 'x2 74' in msg and "'train/b.png'" not in msg
    assert "'train/a.png', 64 x 48" in msg and 'clip' in msg


def test_within_border_tolerance_is_fine(tmp_path):
    data = valid_coco()
    data['annotations'][1]['bbox'] = [40.5, 30, 24, 18.5]
    assert check_coco(write(tmp_path, data)).ok


def test_duplicates_of_names_are_warnings(tmp_path):
    data = valid_coco()
    data['images'][1]['file_name'] = 'train/a.png'
    data['categories'][1]['name'] = 'car'
    report = check_coco(write(tmp_path, data))
    assert report.ok and len(report.warnings) == 2


def test_image_files(tmp_path):
    root = images(tmp_path, sizes=((64, 48), (32, 48)))
    data = valid_coco()
    data['images'].append(
        dict(id=3, file_name='train/missing.png', width=64, height=48))
    data['images'].append(
        dict(id=4, file_name='train/broken.png', width=64, height=48))
    (tmp_path / 'images' / 'train' / 'broken.png').write_bytes(b'not png')
    report = check_coco(write(tmp_path, data), root)
    assert report.counts['error:image size mismatch'] == 1
    assert report.counts['error:missing image'] == 1
    assert report.counts['error:unreadable image'] == 1
    assert 'train/missing.png does not exist' in report.format()


def test_max_problems_counts_the_rest(tmp_path):
    data = valid_coco()
    data['annotations'] = [
        dict(id=i, image_id=1, category_id=1, bbox=[0, 0, -1, 1])
        for i in range(10)
    ]
    report = check_coco(write(tmp_path, data), max_problems=3)
    assert len(report.problems) == 3
    assert report.counts['error:empty box'] == 10
    assert '... and 7 more' in report.format()


def test_not_json_names_line_and_column(tmp_path):
    path = tmp_path / 'cut.json'
    text = json.dumps(valid_coco(), indent=1)
    path.write_text(text[:len(text) // 2])
    with pytest.raises(ValueError, match=r'cut\.json:\d+:\d+: not valid JSON'):
        load_coco_json(str(path))


def test_missing_sections_and_file(tmp_path):
    data = copy.deepcopy(valid_coco())
    del data['categories']
    with pytest.raises(ValueError, match='missing or not a list: categories'):
        check_coco(write(tmp_path, data))
    with pytest.raises(FileNotFoundError, match='nope.json'):
        check_coco(str(tmp_path / 'nope.json'))
    with pytest.raises(FileNotFoundError, match='--img-root'):
        check_coco(write(tmp_path, valid_coco()), str(tmp_path / 'no_dir'))


def test_real_synthetic_set_is_clean(synthetic_root):
    import os.path as osp
    for split in ('train', 'val'):
        report = check_coco(
            osp.join(synthetic_root, 'annotations', f'{split}.json'),
            osp.join(synthetic_root, 'images'))
        assert report.ok, report.format()
        assert report.num_annotations > 0


def test_tool_exit_status(load_tool, tmp_path, capsys):
    tool = load_tool('analysis', 'check_dataset.py')
    assert tool.main([write(tmp_path, valid_coco())]) == 0
    assert tool.main([write(tmp_path, mutate('duplicate image id'))]) == 1
    captured = capsys.readouterr()
    assert 'duplicate image id 1' in captured.out
    assert 'has errors' in captured.err
    with pytest.raises(SystemExit, match='error: .*nope.json'):
        tool.main([str(tmp_path / 'nope.json')])
