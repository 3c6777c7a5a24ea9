"""The NYU final-project labels: reading, checking, conversion to COCO."""
import os
import os.path as osp

import pytest
from PIL import Image

from ssdet.data import nyu

# Label files as the course ships them: block-style YAML, parallel lists of
# class names and [x1, y1, x2, y2] corner boxes in pixels.
LABELS = {
    'training': {
        1: ((64, 48), """bboxes:
- - 2
  - 3
  - 30
  - 40
- - 10
  - 0
  - 64
  - 48
labels:
- cup or mug
- dog
"""),
        2: ((40, 30), """bboxes:
- - 0
  - 0
  - 12
  - 10
labels:
- bagel
"""),
        3: ((32, 32), """bboxes: []
labels: []
"""),
    },
    'validation': {
        30001: ((50, 40), """bboxes:
- - 5
  - 6
  - 45
  - 36
labels:
- dog
"""),
    },
}
CLASSES = ['cup or mug', 'bird', 'dog', 'bagel']


def write_split(root, split_dir, items):
    for n, ((w, h), text) in items.items():
        for sub in ('images', 'labels'):
            os.makedirs(osp.join(root, split_dir, sub), exist_ok=True)
        Image.new('RGB', (w, h), (n % 255, 80, 160)).save(
            osp.join(root, split_dir, 'images', f'{n}.JPEG'), 'JPEG')
        with open(osp.join(root, split_dir, 'labels', f'{n}.yml'), 'w') as f:
            f.write(text)


@pytest.fixture
def nyu_root(tmp_path):
    root = str(tmp_path / 'labeled_data')
    for split_dir, items in LABELS.items():
        write_split(root, split_dir, items)
    return root


def _label(root, n, text, split_dir='training'):
    path = osp.join(root, split_dir, 'labels', f'{n}.yml')
    with open(path, 'w') as f:
        f.write(text)
    return path


def test_shipped_class_list(repo_root):
    path = osp.join(repo_root, 'configs', '_base_', 'datasets',
                    'nyu_classes.txt')
    names = nyu.load_class_names(path)
    assert len(names) == 100
    # Spot checks against the course's class_dict (provided eval.py).
    assert names[0] == 'cup or mug'
    assert names[2] == 'hat with a wide brim'
    assert names[42] == 'bagel'
    assert names[96] == 'salt or pepper shaker'
    assert names[99] == 'starfish'


def test_load_class_names(tmp_path):
    path = tmp_path / 'c.txt'
    path.write_text('# comment\ncup or mug\n\n  dog \n')
    assert nyu.load_class_names(str(path)) == ['cup or mug', 'dog']
    path.write_text('dog\ncat\ndog\n')
    with pytest.raises(nyu.NYULabelError, match="twice.*'dog'"):
        nyu.load_class_names(str(path))


def test_read_label_file(nyu_root):
    labels, boxes = nyu.read_label_file(
        osp.join(nyu_root, 'training', 'labels', '1.yml'))
    assert labels == ['cup or mug', 'dog']
    assert boxes == [[2, 3, 30, 40], [10, 0, 64, 48]]
    assert nyu.read_label_file(
        osp.join(nyu_root, 'training', 'labels', '3.yml')) == ([], [])
    # Extra keys are ignored; flow style is fine.
    path = _label(
        nyu_root, 2, 'bboxes: [[1, 2, 3, 4]]\nimage_size: [40, 30]\n'
        'labels: [bagel]\n')
    assert nyu.read_label_file(path) == (['bagel'], [[1, 2, 3, 4]])


@pytest.mark.parametrize('text, match', [
    ('bboxes: [[1, 2, 3, 4]]\nlabels: [dog, bird]\n', '2 labels but 1 bboxes'),
    ('bboxes: [[1, 2, 3]]\nlabels: [dog]\n', r'box 0 is \[1, 2, 3\]'),
    ('bboxes: [[1, 2, 3, 4], [1, a, 3, 4]]\nlabels: [dog, dog]\n', 'box 1 is'),
    ('labels: [dog]\n', 'keys "labels" and "bboxes"'),
    ('bboxes: [[1, 2, 3, 4]\nlabels: [dog]\n', 'malformed YAML'),
    ('- just a list\n', 'found list'),
])
def test_read_label_file_errors(nyu_root, text, match):
    path = _label(nyu_root, 2, text)
    with pytest.raises(nyu.NYULabelError, match=match) as exc:
        nyu.read_label_file(path)
    assert path in str(exc.value)


@pytest.mark.parametrize('box, match', [
    ([0, 0, 41, 30], 'outside the 40x30 image'),
    ([-1, 0, 10, 10], 'outside'),
    ([0, 0, 10, 31], 'outside'),
    ([5, 0, 5, 10], 'empty or inverted'),
    ([0, 9, 10, 3], 'empty or inverted'),
])
def test_check_boxes(box, match):
    with pytest.raises(nyu.NYULabelError, match=match) as exc:
        nyu.check_boxes('x.yml', ['dog', 'dog'], [[0, 0, 40, 30], box], 40, 30,
                        {'dog': 1})
    assert 'x.yml: box 1' in str(exc.value)
    with pytest.raises(nyu.NYULabelError, match="box 0: unknown class 'cat'"):
        nyu.check_boxes('x.yml', ['cat'], [[0, 0, 4, 3]], 40, 30, {'dog': 1})


def test_convert_split(nyu_root):
    coco, skipped = nyu.convert_split(nyu_root, 'training', CLASSES)
    assert skipped == []
    assert coco['categories'] == [
        dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)
    ]
    assert coco['images'] == [
        dict(id=1, file_name='training/images/1.JPEG', width=64, height=48),
        dict(id=2, file_name='training/images/2.JPEG', width=40, height=30),
        dict(id=3, file_name='training/images/3.JPEG', width=32, height=32),
    ]
    # (id, image_id, category_id, bbox x y w h): corners became x y w h
    expected = [(1, 1, 1, [2, 3, 28, 37]), (2, 1, 3, [10, 0, 54, 48]),
                (3, 2, 4, [0, 0, 12, 10])]
    assert coco['annotations'] == [
        dict(id=i, image_id=image, category_id=cat, bbox=box,
             area=box[2] * box[3], iscrowd=0)
        for i, image, cat, box in expected
    ]
    val, _ = nyu.convert_split(nyu_root, 'validation', CLASSES)
    assert [i['id'] for i in val['images']] == [30001]
    info = nyu.coco_summary(coco)
    assert (info['images'], info['boxes']) == (3, 3)
    assert info['per_class'] == {'cup or mug': 1, 'dog': 1, 'bagel': 1}


def test_convert_split_sorted_numerically(tmp_path):
    root = str(tmp_path)
    write_split(
        root, 'training',
        {n: ((8, 8), 'bboxes: []\nlabels: []\n')
         for n in (10, 9, 100)})
    coco, _ = nyu.convert_split(root, 'training', CLASSES)
    assert [i['id'] for i in coco['images']] == [9, 10, 100]


def test_convert_split_bad_file_and_skip(nyu_root):
    path = _label(
        nyu_root, 2, 'bboxes:\n- - 0\n  - 0\n  - 50\n  - 10\n'
        'labels:\n- bagel\n')
    with pytest.raises(nyu.NYULabelError) as exc:
        nyu.convert_split(nyu_root, 'training', CLASSES)
    assert f'{path}: box 0' in str(exc.value)
    coco, skipped = nyu.convert_split(
        nyu_root, 'training', CLASSES, skip_invalid=True)
    assert [s[0] for s in skipped] == [path]
    assert [i['id'] for i in coco['images']] == [1, 3]
    assert {a['image_id'] for a in coco['annotations']} == {1}


def test_unreadable_image(nyu_root):
    img = osp.join(nyu_root, 'training', 'images', '2.JPEG')
    with open(img, 'wb') as f:
        f.write(b'not a jpeg')
    with pytest.raises(nyu.NYULabelError, match='not a readable image'):
        nyu.convert_split(nyu_root, 'training', CLASSES)


def test_list_split_pairing(nyu_root):
    items = nyu.list_split(nyu_root, 'training')
    assert [n for n, _, _ in items] == [1, 2, 3]
    os.remove(osp.join(nyu_root, 'training', 'labels', '2.yml'))
    with pytest.raises(nyu.NYULabelError, match=r'without a partner.*2\.JPEG'):
        nyu.list_split(nyu_root, 'training')
    with open(osp.join(nyu_root, 'training', 'labels', 'x.yml'), 'w'):
        pass
    with pytest.raises(nyu.NYULabelError, match=r'x\.yml: expected labels'):
        nyu.list_split(nyu_root, 'training')
    with pytest.raises(FileNotFoundError, match='testing'):
        nyu.list_split(nyu_root, 'testing')


def test_collect_class_names(nyu_root):
    assert nyu.collect_class_names(nyu_root) == ['bagel', 'cup or mug', 'dog']
