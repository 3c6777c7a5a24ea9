"""Tests of ssdet/data/kitti.py: label parsing and writing, the
seeded split, COCO building and the converter on the real fixture."""
import json
import os
import os.path as osp
import shutil

import pytest

from ssdet.data.kitti import (KITTI_CLASSES, BadLine, KittiFormatError,
                              KittiImageError, KittiObject, build_coco,
                              convert, format_label_line, format_summary,
                              parse_label_file, parse_label_line,
                              split_image_ids, write_label_file)

CAR = ('Car 0.00 0 1.55 614.24 181.78 727.31 284.77 1.57 1.73 4.15 '
       '1.00 1.75 13.22 1.62')


def test_parse_line_fields():
    obj = parse_label_line(CAR)
    assert obj.type == 'Car'
    assert obj.truncated == 0.0 and obj.occluded == 0
    assert obj.alpha == pytest.approx(1.55)
    assert obj.bbox == (614.24, 181.78, 727.31, 284.77)
    assert obj.dimensions == (1.57, 1.73, 4.15)
    assert obj.location == (1.00, 1.75, 13.22)
    assert obj.rotation_y == pytest.approx(1.62)
    assert obj.score is None


def test_parse_line_with_score():
    obj = parse_label_line(CAR + ' 0.87')
    assert obj.score == pytest.approx(0.87)


@pytest.mark.parametrize(
    'line, message',
    [
        (CAR.rsplit(' ', 1)[0], 'expected 15 fields'),  # 14 fields
        (CAR + ' 0.5 7', 'expected 15 fields'),  # 17 fields
        (CAR.replace('614.24', 'abc'), 'non-numeric'),
        (CAR.replace('727.31', '614.24'), 'x2'),  # x2 == x1
        (CAR.replace('727.31', '600.00'), 'x2'),  # x2 < x1
        (CAR.replace('284.77', '181.78'), 'y2'),
        (CAR.replace('Car', 'Bus'), 'unknown class'),
        (CAR.replace('Car', 'car'), 'unknown class'),
        (CAR.replace(' 0 1.55', ' 0.5 1.55'), 'occlusion'),
    ])
def test_parse_line_errors_name_file_and_line(line, message):
    with pytest.raises(KittiFormatError) as info:
        parse_label_line(line, 'some/000007.txt', 3)
    assert str(info.value).startswith('some/000007.txt:3: ')
    assert message in str(info.value)
    assert '--skip-bad' in str(info.value)


def test_parse_file_empty_and_blank_lines(tmp_path):
    empty = tmp_path / '000000.txt'
    empty.write_text('')
    assert parse_label_file(str(empty)) == []
    blank = tmp_path / '000001.txt'
    blank.write_text('\n' + CAR + '\n\n')
    objs = parse_label_file(str(blank))
    assert len(objs) == 1 and objs[0].line_no == 2


def test_parse_file_skip_bad_counts(tmp_path):
    path = tmp_path / '000002.txt'
    path.write_text('\n'.join([CAR, 'Car 1 2 3', CAR, 'Bus' + CAR[3:]]))
    with pytest.raises(KittiFormatError, match=r'000002.txt:2: '):
        parse_label_file(str(path))
    bad = []
    objs = parse_label_file(str(path), skip_bad=True, bad_lines=bad)
    assert [o.line_no for o in objs] == [1, 3]
    assert [b.line_no for b in bad] == [2, 4]
    assert all(isinstance(b, BadLine) and b.path == str(path) for b in bad)


def test_real_fixture_labels(kitti_root):
    label_dir = osp.join(kitti_root, 'training', 'label_2')
    objs = parse_label_file(osp.join(label_dir, '000001.txt'))
    assert [o.type
            for o in objs] == ['Truck', 'Car', 'Cyclist'] + ['DontCare'] * 4
    assert objs[2].occluded == 3
    assert objs[3].truncated == -1 and objs[3].occluded == -1
    assert objs[3].bbox == (503.89, 169.71, 590.61, 190.13)
    misc = parse_label_file(osp.join(label_dir, '000002.txt'))
    assert misc[0].type == 'Misc'


def test_write_round_trip(tmp_path, kitti_root):
    src = osp.join(kitti_root, 'training', 'label_2', '000004.txt')
    objs = parse_label_file(src)
    out = tmp_path / 'out' / '000004.txt'
    write_label_file(str(out), objs)
    again = parse_label_file(str(out))
    for a, b in zip(objs, again):
        assert (a.type, a.truncated, a.occluded,
                a.bbox) == (b.type, b.truncated, b.occluded, b.bbox)
    # the real file's numbers come back as written (2 decimals)
    with open(src) as f:
        assert [format_label_line(o) for o in objs] == f.read().splitlines()
    assert os.listdir(out.parent) == ['000004.txt']  # no temp files left
    scored = KittiObject('Car', 0, 0, 0, (1, 2, 3, 4), score=0.5)
    assert format_label_line(scored).split()[-1] == '0.5000'
    assert len(format_label_line(scored).split()) == 16


def test_split_reproducible_disjoint():
    ids = list(range(100))
    train, val = split_image_ids(ids, 0.2, seed=3)
    assert len(val) == 20 and len(train) == 80
    assert not set(train) & set(val)
    assert set(train) | set(val) == set(ids)
    assert split_image_ids(list(reversed(ids)), 0.2, seed=3) == (train, val)
    assert split_image_ids(ids, 0.2, seed=4) != (train, val)
    assert split_image_ids(ids, 0.0, seed=0) == (ids, [])
    with pytest.raises(ValueError):
        split_image_ids(ids, 1.0, seed=0)


def test_build_coco_dontcare_and_merge():
    from ssdet.data.kitti import KittiSample
    objs = [
        KittiObject('Person_sitting', 0.1, 1, 0, (0, 0, 10, 30), line_no=1),
        KittiObject('DontCare', -1, -1, -10, (20, 0, 30, 10), line_no=2),
        KittiObject('Misc', 0, 0, 0, (40, 0, 50, 10), line_no=3),
    ]
    coco = build_coco([KittiSample(5, '000005.png', 100, 50, objs)],
                      KITTI_CLASSES,
                      merge_person=True)
    names = [c['name'] for c in coco['categories']]
    assert names == ['Car', 'Van', 'Truck', 'Pedestrian', 'Cyclist', 'Tram']
    targets = [a for a in coco['annotations'] if not a['iscrowd']]
    assert len(targets) == 1
    assert targets[0]['category_id'] == names.index('Pedestrian') + 1
    assert targets[0]['kitti_type'] == 'Person_sitting'
    assert targets[0]['bbox'] == [0, 0, 10, 30]
    assert targets[0]['truncated'] == 0.1 and targets[0]['occluded'] == 1
    crowd = [a for a in coco['annotations'] if a['iscrowd']]
    # one ignore region per category
    assert sorted(a['category_id'] for a in crowd) == list(range(1, 7))
    assert all(a['ignore_flag'] == 1 and a['kitti_type'] == 'DontCare'
               for a in crowd)
    # every line is kept on the image, in order, for the evaluation
    assert [o['type'] for o in coco['images'][0]['kitti_objects']
            ] == ['Person_sitting', 'DontCare', 'Misc']
    assert len({a['id'] for a in coco['annotations']}) == 7


def test_convert_real_fixture(kitti_root, tmp_path):
    summary = convert(kitti_root, str(tmp_path), val_ratio=0.5, seed=0)
    train = json.load(open(tmp_path / 'train.json'))
    val = json.load(open(tmp_path / 'val.json'))
    train_ids = {im['id'] for im in train['images']}
    val_ids = {im['id'] for im in val['images']}
    assert len(train_ids) == len(val_ids) == 3
    assert train_ids | val_ids == set(range(6))
    assert not train_ids & val_ids
    sizes = {
        im['id']: (im['width'], im['height'])
        for im in train['images'] + val['images']
    }
    assert sizes[0] == (1224, 370) and sizes[1] == (1242, 375)
    assert all(
        osp.isfile(
            osp.join(kitti_root, 'training', 'image_2', im['file_name']))
        for im in train['images'])
    anns = train['annotations'] + val['annotations']
    targets = [a for a in anns if not a['iscrowd']]
    # 5 Car, 1 Truck, 2 Pedestrian, 1 Cyclist; Misc dropped
    assert len(targets) == 9
    assert sum(a['iscrowd'] for a in anns) == 15 * 7
    assert summary['dropped'] == {'Misc': 1}
    total = {
        c: sum(summary['splits'][s]['boxes'][c] for s in ('train', 'val'))
        for c in KITTI_CLASSES
    }
    assert total == dict(
        Car=5,
        Van=0,
        Truck=1,
        Pedestrian=2,
        Person_sitting=0,
        Cyclist=1,
        Tram=0)
    table = format_summary(summary)
    assert '| Car ' in table and 'Misc 1' in table
    assert 'skipped malformed lines: 0' in table


def test_convert_misc_kept_when_listed(kitti_root, tmp_path):
    summary = convert(
        kitti_root,
        str(tmp_path),
        val_ratio=0,
        classes=list(KITTI_CLASSES) + ['Misc'])
    assert summary['dropped'] == {}
    assert summary['splits']['train']['boxes']['Misc'] == 1


def test_convert_refuses_overwrite(kitti_root, tmp_path):
    convert(kitti_root, str(tmp_path))
    before = (tmp_path / 'train.json').read_text()
    with pytest.raises(FileExistsError, match='--force'):
        convert(kitti_root, str(tmp_path), seed=1)
    assert (tmp_path / 'train.json').read_text() == before
    convert(kitti_root, str(tmp_path), seed=1, force=True)
    assert sorted(os.listdir(tmp_path)) == ['train.json', 'val.json']


def _copy_fixture(kitti_root, dst):
    shutil.copytree(
        osp.join(kitti_root, 'training'), osp.join(dst, 'training'))
    return osp.join(dst, 'training', 'label_2')


def test_convert_bad_line_and_skip(kitti_root, tmp_path):
    label_dir = _copy_fixture(kitti_root, tmp_path / 'kitti')
    with open(osp.join(label_dir, '000003.txt'), 'a') as f:
        f.write('Car 0.00 0 1.55 614.24 181.78\n')
    out = tmp_path / 'out'
    with pytest.raises(KittiFormatError, match=r'000003.txt:4: expected 15'):
        convert(str(tmp_path / 'kitti'), str(out))
    assert not out.exists()
    summary = convert(str(tmp_path / 'kitti'), str(out), skip_bad=True)
    assert [(osp.basename(b.path), b.line_no)
            for b in summary['bad_lines']] == [('000003.txt', 4)]


def test_convert_empty_label_and_16_fields(kitti_root, tmp_path):
    label_dir = _copy_fixture(kitti_root, tmp_path / 'kitti')
    open(osp.join(label_dir, '000000.txt'), 'w').close()
    with open(osp.join(label_dir, '000002.txt')) as f:
        lines = f.read().splitlines()
    with open(osp.join(label_dir, '000002.txt'), 'w') as f:
        f.write('\n'.join(line + ' 0.9' for line in lines) + '\n')
    convert(str(tmp_path / 'kitti'), str(tmp_path / 'out'), val_ratio=0)
    coco = json.load(open(tmp_path / 'out' / 'train.json'))
    assert len(coco['images']) == 6
    assert not [a for a in coco['annotations'] if a['image_id'] == 0]
    assert len([a for a in coco['annotations'] if a['image_id'] == 2]) == 1


def test_convert_missing_image(kitti_root, tmp_path):
    _copy_fixture(kitti_root, tmp_path / 'kitti')
    os.remove(tmp_path / 'kitti' / 'training' / 'image_2' / '000005.png')
    with pytest.raises(KittiImageError) as info:
        convert(str(tmp_path / 'kitti'), str(tmp_path / 'out'))
    assert info.value.path.endswith(osp.join('image_2', '000005.png'))
    assert info.value.label_path.endswith(osp.join('label_2', '000005.txt'))
    assert 'missing' in str(info.value) and '--skip-bad' in str(info.value)
    assert not (tmp_path / 'out').exists()
    summary = convert(
        str(tmp_path / 'kitti'), str(tmp_path / 'out'), skip_bad=True)
    assert [osp.basename(b.path) for b in summary['bad_images']
            ] == ['000005.png']
    assert sum(s['images'] for s in summary['splits'].values()) == 5
    assert 'skipped frames (image missing or unreadable): 1' in \
        format_summary(summary)
