import json
import os
import os.path as osp

import pytest
from PIL import Image


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('dataset_converters', 'nyu2coco.py')


def _write(root, split_dir, n, size, text):
    for sub in ('images', 'labels'):
        os.makedirs(osp.join(root, split_dir, sub), exist_ok=True)
    Image.new('RGB', size, (30, 90, 150)).save(
        osp.join(root, split_dir, 'images', f'{n}.JPEG'), 'JPEG')
    path = osp.join(root, split_dir, 'labels', f'{n}.yml')
    with open(path, 'w') as f:
        f.write(text)
    return path


@pytest.fixture
def nyu_root(tmp_path):
    root = str(tmp_path / 'labeled_data')
    _write(
        root, 'training', 1, (64, 48),
        'bboxes:\n- - 2\n  - 3\n  - 30\n  - 40\n- - 10\n  - 0\n  - 64\n'
        '  - 48\nlabels:\n- cup or mug\n- bagel\n')
    _write(root, 'training', 2, (40, 30),
           'bboxes:\n- - 0\n  - 0\n  - 12\n  - 10\nlabels:\n- bagel\n')
    _write(root, 'validation', 30001, (50, 40),
           'bboxes:\n- - 5\n  - 6\n  - 45\n  - 36\nlabels:\n- starfish\n')
    return root


def _load(path):
    with open(path) as f:
        return json.load(f)


def test_converts_both_splits_with_course_classes(tool, nyu_root, tmp_path,
                                                  capsys):
    out = str(tmp_path / 'ann')
    assert tool.main([nyu_root, '--out', out]) == 0
    train, val = _load(osp.join(out, 'train.json')), _load(
        osp.join(out, 'val.json'))
    assert len(train['categories']) == 100
    ids = {c['name']: c['id'] for c in train['categories']}
    assert ids['cup or mug'] == 1 and ids['bagel'] == 43 \
        and ids['starfish'] == 100
    assert [a['category_id'] for a in train['annotations']] == [1, 43, 43]
    assert [i['file_name']
            for i in val['images']] == ['validation/images/30001.JPEG']
    assert val['annotations'][0]['bbox'] == [5, 6, 40, 30]
    text = capsys.readouterr().out
    assert 'train' in text and 'val' in text and 'bagel' in text


def test_output_loads_in_mmdet(tool, nyu_root, tmp_path):
    from mmdet.datasets import CocoDataset
    out = str(tmp_path / 'ann')
    tool.main([nyu_root, '--out', out])
    classes = tuple(c['name']
                    for c in _load(osp.join(out, 'train.json'))['categories'])
    ds = CocoDataset(
        ann_file=osp.join(out, 'train.json'),
        data_root=nyu_root,
        data_prefix=dict(img=''),
        metainfo=dict(classes=classes),
        filter_cfg=None,
        pipeline=[],
        test_mode=True)
    info = ds.get_data_info(0)
    assert info['img_path'] == osp.join(nyu_root, 'training/images/1.JPEG')
    assert osp.isfile(info['img_path'])
    assert [i['bbox'] for i in info['instances']] == [[2, 3, 30, 40],
                                                      [10, 0, 64, 48]]
    # mmdet label index == the course's class index.
    assert [i['bbox_label'] for i in info['instances']] == [0, 42]


def test_training_only_and_custom_classes(tool, nyu_root, tmp_path):
    import shutil
    shutil.rmtree(osp.join(nyu_root, 'validation'))
    classes = tmp_path / 'c.txt'
    classes.write_text('bagel\ncup or mug\n')
    out = str(tmp_path / 'ann')
    tool.main([nyu_root, '--out', out, '--classes', str(classes)])
    assert sorted(os.listdir(out)) == ['train.json']
    train = _load(osp.join(out, 'train.json'))
    assert [a['category_id'] for a in train['annotations']] == [2, 1, 1]


def test_fallback_collects_classes(tool, nyu_root, tmp_path, monkeypatch,
                                   caplog):
    monkeypatch.setattr(tool, 'DEFAULT_CLASSES', str(tmp_path / 'none.txt'))
    out = str(tmp_path / 'ann')
    tool.main([nyu_root, '--out', out])
    cats = _load(osp.join(out, 'train.json'))['categories']
    assert [c['name'] for c in cats] == ['bagel', 'cup or mug', 'starfish']
    assert 'ids depend on the data' in caplog.text


def test_refuses_overwrite_without_force(tool, nyu_root, tmp_path):
    out = tmp_path / 'ann'
    out.mkdir()
    (out / 'val.json').write_text('{}')
    with pytest.raises(SystemExit) as exc:
        tool.main([nyu_root, '--out', str(out)])
    assert 'val.json' in str(exc.value.code)
    assert '--force' in str(exc.value.code)
    assert sorted(os.listdir(out)) == ['val.json']
    tool.main([nyu_root, '--out', str(out), '--force'])
    assert len(_load(str(out / 'val.json'))['images']) == 1


def test_bad_file_names_file_and_box(tool, nyu_root, tmp_path, capsys):
    bad = _write(
        nyu_root, 'training', 3, (20, 20),
        'bboxes:\n- - 0\n  - 0\n  - 5\n  - 5\n- - 0\n  - 0\n'
        '  - 25\n  - 5\nlabels:\n- dog\n- dog\n')
    out = str(tmp_path / 'ann')
    with pytest.raises(SystemExit) as exc:
        tool.main([nyu_root, '--out', out])
    msg = str(exc.value.code)
    assert f'{bad}: box 1' in msg and 'outside the 20x20 image' in msg
    assert not osp.exists(out)

    tool.main([nyu_root, '--out', out, '--skip-invalid'])
    train = _load(osp.join(out, 'train.json'))
    assert [i['id'] for i in train['images']] == [1, 2]
    table = capsys.readouterr().out
    assert any(line.split()[:4] == ['train', '2', '3', '1']
               for line in table.splitlines())


def test_missing_training(tool, tmp_path):
    with pytest.raises(SystemExit) as exc:
        tool.main([str(tmp_path), '--out', str(tmp_path / 'ann')])
    assert 'training' in str(exc.value.code)
