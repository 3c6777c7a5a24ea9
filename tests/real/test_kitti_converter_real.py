"""tools/dataset_converters/kitti2coco.py on the 75 real KITTI frames:
counts against the label files (counted here), DontCare as ignore regions,
image sizes from the PNGs, the seeded split, and bad real inputs (a
truncated PNG, a box outside its real image, a missing image)."""
import json
import os
import os.path as osp
import struct
from collections import Counter

import pytest

from ssdet.data.kitti import KITTI_CLASSES

FRAMES = 75


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('dataset_converters', 'kitti2coco.py')


def label_lines(kitti_root):
    """``{frame: [fields of each line]}`` read from the label files."""
    label_dir = osp.join(kitti_root, 'training', 'label_2')
    return {
        int(name[:-4]): [
            line.split() for line in open(osp.join(label_dir, name))
            if line.strip()
        ]
        for name in sorted(os.listdir(label_dir))
    }


def png_size(path):
    """``(width, height)`` from a PNG's IHDR chunk (bytes 16-24)."""
    with open(path, 'rb') as f:
        header = f.read(24)
    assert header[:8] == b'\x89PNG\r\n\x1a\n' and header[12:16] == b'IHDR'
    return struct.unpack('>II', header[16:24])


def load(out, split):
    with open(osp.join(out, f'{split}.json')) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def converted(tool, kitti75_root, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('kitti75_ann'))
    summary = tool.main([kitti75_root, '--out', out])
    return out, summary


def test_counts_equal_the_label_files(converted, kitti75_root):
    out, summary = converted
    lines = label_lines(kitti75_root)
    by_type = Counter(f[0] for frame in lines.values() for f in frame)
    # the fixture's README: 209 Car, 188 DontCare, ... 3 Misc
    assert by_type['Car'] == 209 and by_type['DontCare'] == 188

    train, val = load(out, 'train'), load(out, 'val')
    names = {c['id']: c['name'] for c in train['categories']}
    assert [c['name'] for c in train['categories']] == list(KITTI_CLASSES)
    anns = train['annotations'] + val['annotations']
    targets = Counter(names[a['category_id']] for a in anns
                      if not a['iscrowd'])
    assert targets == Counter(
        {c: by_type[c]
         for c in KITTI_CLASSES if by_type[c]})
    assert all(a['kitti_type'] == names[a['category_id']] for a in anns
               if not a['iscrowd'])
    assert summary['dropped'] == {'Misc': by_type['Misc']}
    assert sum(s['ignore_regions']
               for s in summary['splits'].values()) == by_type['DontCare']
    # every label line is kept on its image, in file order
    for img in train['images'] + val['images']:
        assert [o['type'] for o in img['kitti_objects']
                ] == [f[0] for f in lines[img['id']]]
        assert [o['line'] for o in img['kitti_objects']
                ] == list(range(1, len(lines[img['id']]) + 1))


def test_dontcare_regions_are_ignore_regions(converted, kitti75_root):
    from mmdet.datasets import CocoDataset
    out, _ = converted
    lines = label_lines(kitti75_root)
    coco = load(out, 'train')
    crowd = Counter()
    for a in coco['annotations']:
        if a['iscrowd']:
            assert a['ignore_flag'] == 1 and a['kitti_type'] == 'DontCare'
            fields = lines[a['image_id']][a['kitti_line'] - 1]
            assert fields[0] == 'DontCare'
            x1, y1, x2, y2 = (float(v) for v in fields[4:8])
            assert a['bbox'] == pytest.approx([x1, y1, x2 - x1, y2 - y1])
            crowd[(a['image_id'], a['kitti_line'])] += 1
    dontcare = {(i, n) for i, frame in lines.items()
                for n, f in enumerate(frame, 1) if f[0] == 'DontCare'}
    train_ids = {img['id'] for img in coco['images']}
    # one region per category, for every DontCare line of the split
    assert set(crowd) == {(i, n) for i, n in dontcare if i in train_ids}
    assert set(crowd.values()) == {len(KITTI_CLASSES)}

    # mmdet's loader: ignore regions are never training targets
    dataset = CocoDataset(
        ann_file=osp.join(out, 'train.json'),
        metainfo=dict(classes=KITTI_CLASSES),
        data_prefix=dict(img=''),
        filter_cfg=None,
        pipeline=[],
        lazy_init=False)
    ignored = sum(inst['ignore_flag'] for i in range(len(dataset))
                  for inst in dataset.get_data_info(i)['instances'])
    assert ignored == sum(crowd.values())


def test_image_sizes_are_read_from_the_files(converted, kitti75_root):
    out, _ = converted
    images = load(out, 'train')['images'] + load(out, 'val')['images']
    assert len(images) == FRAMES
    sizes = Counter()
    for img in images:
        path = osp.join(kitti75_root, 'training', 'image_2', img['file_name'])
        assert (img['width'], img['height']) == png_size(path)
        sizes[(img['width'], img['height'])] += 1
    # the fixture's four sizes
    assert sizes == {(1242, 375): 62, (1224, 370): 6, (1238, 374): 4,
                     (1241, 376): 3}


def test_seeded_split_is_stable(tool, kitti75_root, tmp_path):

    def split(seed, name):
        out = str(tmp_path / name)
        tool.main([kitti75_root, '--out', out, '--seed', str(seed)])
        files = {
            s: sorted(im['file_name'] for im in load(out, s)['images'])
            for s in ('train', 'val')
        }
        texts = [
            open(osp.join(out, f'{s}.json')).read() for s in ('train', 'val')
        ]
        return files, texts

    first, first_texts = split(7, 'a')
    again, again_texts = split(7, 'b')
    assert again == first and again_texts == first_texts
    assert len(first['val']) == round(FRAMES * 0.2)
    assert not set(first['train']) & set(first['val'])
    assert len(first['train']) + len(first['val']) == FRAMES
    other, _ = split(8, 'c')
    assert other['val'] != first['val']


# ---------------------------------------------------------------------------
# Bad real inputs (on a copy whose images link to the fixture)
# ---------------------------------------------------------------------------


def fails(tool, capsys, *args):
    with pytest.raises(SystemExit) as info:
        tool.main(list(args))
    assert info.value.code == 1
    return capsys.readouterr().err


def test_truncated_image(tool, kitti75_copy, truncate, tmp_path, capsys):
    image = osp.join(kitti75_copy, 'training', 'image_2', '000042.png')
    truncate(os.path.realpath(image), image)
    out = str(tmp_path / 'ann')
    err = fails(tool, capsys, kitti75_copy, '--out', out)
    assert f'{image}: unreadable image' in err
    assert '000042.txt' in err and '--skip-bad' in err
    assert not osp.exists(out)

    summary = tool.main([kitti75_copy, '--out', out, '--skip-bad'])
    printed = capsys.readouterr().out
    assert 'skipped frames (image missing or unreadable): 1' in printed
    assert f'  {image}: unreadable image' in printed
    assert [b.path for b in summary['bad_images']] == [image]
    ids = {im['id'] for s in ('train', 'val') for im in load(out, s)['images']}
    assert len(ids) == FRAMES - 1 and 42 not in ids


def test_box_outside_its_real_image(tool, kitti75_copy, kitti75_root, tmp_path,
                                    capsys):
    # a label file of a 1242 x 375 frame given to a 1224 x 370 frame:
    # its boxes reach beyond the smaller image
    image_dir = osp.join(kitti75_root, 'training', 'image_2')
    small = next(i for i in range(FRAMES) if png_size(
        osp.join(image_dir, f'{i:06d}.png')) == (1224, 370))
    lines = label_lines(kitti75_root)
    wide = next(
        i for i in range(FRAMES)
        if png_size(osp.join(image_dir, f'{i:06d}.png')) == (1242, 375)
        and any(float(f[6]) > 1224 for f in lines[i]))
    bad_line = next(n for n, f in enumerate(lines[wide], 1)
                    if float(f[6]) > 1224 or float(f[7]) > 370)
    label = osp.join(kitti75_copy, 'training', 'label_2', f'{small:06d}.txt')
    with open(osp.join(kitti75_root, 'training', 'label_2',
                       f'{wide:06d}.txt')) as src, open(label, 'w') as dst:
        dst.write(src.read())

    out = str(tmp_path / 'ann')
    err = fails(tool, capsys, kitti75_copy, '--out', out)
    assert f'{label}:{bad_line}: box (' in err
    assert f'lies outside its image {small:06d}.png (1224 x 370 px' in err
    assert not osp.exists(out)

    summary = tool.main([kitti75_copy, '--out', out, '--skip-bad'])
    outside = [
        n for n, f in enumerate(lines[wide], 1)
        if float(f[6]) > 1224 or float(f[7]) > 370
    ]
    assert [(b.path, b.line_no) for b in summary['bad_lines']
            ] == [(label, n) for n in outside]
    assert f'skipped malformed lines: {len(outside)}' in \
        capsys.readouterr().out
    image = next(im for s in ('train', 'val') for im in load(out, s)['images']
                 if im['id'] == small)
    assert len(image['kitti_objects']) == len(lines[wide]) - len(outside)


def test_missing_image(tool, kitti75_copy, tmp_path, capsys):
    image = osp.join(kitti75_copy, 'training', 'image_2', '000013.png')
    os.remove(image)
    out = str(tmp_path / 'ann')
    err = fails(tool, capsys, kitti75_copy, '--out', out)
    assert f'{image}: missing' in err and '000013.txt' in err
    assert not osp.exists(out)

    summary = tool.main([kitti75_copy, '--out', out, '--skip-bad'])
    assert 'skipped frames (image missing or unreadable): 1' in \
        capsys.readouterr().out
    assert [b.path for b in summary['bad_images']] == [image]
    assert sum(s['images'] for s in summary['splits'].values()) == FRAMES - 1
