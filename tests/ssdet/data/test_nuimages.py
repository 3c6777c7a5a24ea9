"""The nuImages tables: streaming them, picking images, nested subsets and
the synthetic tables."""
import io
import json
import logging
import os
import os.path as osp

import pytest
from PIL import Image

from ssdet.data import nuimages as nuim

LOG = 'n008-2018-08-01-15-16-36-0400'
CAMS = ('CAM_FRONT', 'CAM_BACK', 'CAM_FRONT_LEFT')


def _jpeg_bytes():
    buf = io.BytesIO()
    Image.new('RGB', (8, 6), (200, 30, 30)).save(buf, 'JPEG')
    return buf.getvalue()


def _sample_data(token, sample, calib, filename, ts, key, prev='', nxt=''):
    # Every field of the v1.0 sample_data schema, in schema order.
    return {
        'token': token,
        'sample_token': sample,
        'ego_pose_token': f'ego{token}',
        'calibrated_sensor_token': calib,
        'filename': filename,
        'fileformat': 'jpg' if filename.endswith('.jpg') else 'pcd',
        'width': 1600 if filename.endswith('.jpg') else 0,
        'height': 900 if filename.endswith('.jpg') else 0,
        'timestamp': ts,
        'is_key_frame': key,
        'next': nxt,
        'prev': prev,
    }


def _cam_file(folder, channel, ts):
    return f'{folder}/{channel}/{LOG}__{channel}__{ts}.jpg'


def write_fixture(root, images=True):
    """A tiny v1.0-train root: 4 samples, 3 cameras, a lidar, sweeps.

    Returns the camera paths by kind: {'key': [...], 'sweep': [...]}.
    """
    tdir = osp.join(root, 'v1.0-train')
    os.makedirs(tdir)
    sensors = [{
        'token': f'sensor-{ch}',
        'channel': ch,
        'modality': 'camera'
    } for ch in CAMS]
    sensors.append({
        'token': 'sensor-LIDAR_TOP',
        'channel': 'LIDAR_TOP',
        'modality': 'lidar'
    })
    calibs = []
    for s in sensors:
        cam = s['modality'] == 'camera'
        calibs.append({
            'token':
            f'calib-{s["channel"]}',
            'sensor_token':
            s['token'],
            'translation': [1.7, 0.0, 1.5],
            'rotation': [0.5, -0.5, 0.5, -0.5],
            'camera_intrinsic': [[1266.4, 0.0, 816.3], [0.0, 1266.4, 491.5],
                                 [0.0, 0.0, 1.0]] if cam else [],
            'camera_distortion': [-0.35, 0.16, 0.0, 0.0, -0.04] if cam else [],
        })
    # sample -> (key camera, number of sweeps before/after)
    plan = [('CAM_FRONT', 1), ('CAM_BACK', 1), ('CAM_FRONT_LEFT', 0),
            ('CAM_FRONT', 1)]
    rows, samples = [], []
    paths = {'key': [], 'sweep': []}
    for s, (ch, n_sweeps) in enumerate(plan):
        t0 = 1533151600000000 + s * 10_000_000
        chain = []
        for k in range(-n_sweeps, n_sweeps + 1):
            ts = t0 + k * 500_000
            folder = 'samples' if k == 0 else 'sweeps'
            chain.append(
                _sample_data(f'sd{s}{k:+d}', f'sample{s}', f'calib-{ch}',
                             _cam_file(folder, ch, ts), ts, k == 0))
            paths['key' if k == 0 else 'sweep'].append(chain[-1]['filename'])
        for a, b in zip(chain, chain[1:]):
            a['next'], b['prev'] = b['token'], a['token']
        lidar = _sample_data(
            f'lidar{s}', f'sample{s}', 'calib-LIDAR_TOP',
            f'samples/LIDAR_TOP/{LOG}__LIDAR_TOP__{t0 + 2000}.pcd.bin',
            t0 + 2000, True)
        rows += chain + [lidar]
        samples.append({
            'token': f'sample{s}',
            'timestamp': t0,
            'log_token': 'log0',
            'key_camera_token': f'sd{s}+0',
            'key_lidar_token': f'lidar{s}',
        })
    for name, table in (('sensor', sensors), ('calibrated_sensor', calibs),
                        ('sample_data', rows), ('sample', samples)):
        with open(osp.join(tdir, f'{name}.json'), 'w') as f:
            json.dump(table, f, indent=0)
    if images:
        data = _jpeg_bytes()
        for p in paths['key'] + paths['sweep']:
            os.makedirs(osp.dirname(osp.join(root, p)), exist_ok=True)
            with open(osp.join(root, p), 'wb') as f:
                f.write(data)
    return paths


@pytest.fixture
def nuim_root(tmp_path):
    root = str(tmp_path / 'nuimages')
    paths = write_fixture(root)
    return root, paths


def _write(path, text):
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return str(path)


# --- iter_json_array ---------------------------------------------------------


@pytest.mark.parametrize('chunk', [1, 3, 7, 4096])
@pytest.mark.parametrize('indent', [None, 0, 2])
def test_iter_json_array_any_chunking(tmp_path, chunk, indent):
    rows = [{
        'a': i,
        'x': i / 4,
        'name': 'Zürich ☃ ✓' * (i + 1),
        'l': [1, {
            'b': None
        }]
    } for i in range(6)]
    path = _write(tmp_path / 't.json', json.dumps(rows, indent=indent))
    seen = []
    out = list(nuim.iter_json_array(path, chunk, on_progress=seen.append))
    assert out == rows
    assert [type(row['x']) for row in out] == [float] * 6  # not Decimal
    assert sum(seen) == osp.getsize(path)
    assert max(seen) <= chunk


def test_iter_json_array_streams(tmp_path):
    # the first row comes after one chunk, not after the whole file: memory
    # holds a chunk, never the decoded table
    rows = [{'token': f'{i:032x}', 'filename': f'samples/{i}.jpg'}
            for i in range(2000)]
    path = _write(tmp_path / 'big.json', json.dumps(rows, indent=0))
    seen = []
    stream = nuim.iter_json_array(path, 4096, on_progress=seen.append)
    assert next(stream) == rows[0]
    assert sum(seen) <= 2 * 4096 < osp.getsize(path)
    assert list(stream) == rows[1:]


def test_iter_json_array_empty_and_whitespace(tmp_path):
    assert list(
        nuim.iter_json_array(_write(tmp_path / 'e.json', '  [ \n ]  \n'),
                             2)) == []


@pytest.mark.parametrize('text, match', [
    ('{"a": 1}', 'expected a JSON array'),
    ('', 'expected a JSON array'),
    ('[', r'truncated JSON in row 0 \(bytes 0-1: .*premature EOF'),
    ('[{"a": 1}, {"a": 2', r'truncated JSON after row 0 \(bytes 16-18: '),
    ('[{"a": 1}, {"a": 2}', 'truncated JSON after row 1'),
    ('[{"a": 1} {"a": 2}]', "malformed JSON after row 0 .*expect ','"),
    ('[{"a": 1}, 3]', 'row 1 is not a JSON object'),
    ('[{"a": 1}, {"a": tru}]', 'malformed JSON after row 0 .*invalid'),
    ('[{"a": 1}] x', "after row 0 .*trailing garbage, at '}] x'"),
    (b'[{"a": "\xff"}]', 'malformed JSON in row 0 .*UTF8'),
])
def test_iter_json_array_errors(tmp_path, text, match):
    path = str(tmp_path / 'bad.json')
    with open(path, 'wb') as f:
        f.write(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(nuim.NuImagesFormatError, match=match) as exc:
        list(nuim.iter_json_array(path, 4))
    assert path in str(exc.value)


# --- select_images ----------------------------------------------------------


def test_select_key_frames_all_cameras(nuim_root):
    root, paths = nuim_root
    sel = nuim.select_images(root, chunk_bytes=64)
    assert sel.paths == sorted(paths['key'])
    assert sel.channels == sorted(CAMS)  # the lidar is not a camera
    assert sel.rows == 4 + 6 + 4  # camera key frames, sweeps, lidar
    assert sel.key_frames == 8
    assert sel.selected == {'CAM_FRONT': 2, 'CAM_BACK': 1, 'CAM_FRONT_LEFT': 1}
    assert sel.kept_per_channel == sel.selected
    assert sel.selected_sweeps == 0 and sel.missing == []
    assert all(p.startswith('samples/CAM_') for p in sel.paths)


def test_select_channels_and_sweeps(nuim_root):
    root, paths = nuim_root
    sel = nuim.select_images(root, channels=['CAM_FRONT', 'CAM_BACK'])
    assert sel.paths == sorted(p for p in paths['key']
                               if '/CAM_FRONT/' in p or '/CAM_BACK/' in p)
    assert len(sel.paths) == 3

    sel = nuim.select_images(root, channels=['CAM_FRONT'], sweeps=True)
    assert sel.paths == sorted(p for p in paths['key'] + paths['sweep']
                               if '/CAM_FRONT/' in p)
    assert sel.selected == {'CAM_FRONT': 6}
    assert sel.selected_sweeps == 4

    sel = nuim.select_images(root, sweeps=True)
    assert sel.paths == sorted(paths['key'] + paths['sweep'])

    # An explicitly requested lidar channel is honoured.
    sel = nuim.select_images(root, channels=['LIDAR_TOP'], check_files=False)
    assert len(sel.paths) == 4
    assert all(p.endswith('.pcd.bin') for p in sel.paths)


def test_select_unknown_channel(nuim_root):
    with pytest.raises(ValueError, match="unknown channel.*CAM_SIDE"):
        nuim.select_images(nuim_root[0], channels=['CAM_SIDE'])


def test_missing_images_counted_skip(nuim_root, caplog):
    root, paths = nuim_root
    gone = sorted(paths['key'])[:2]
    for p in gone:
        os.remove(osp.join(root, p))
    with caplog.at_level(logging.WARNING):
        sel = nuim.select_images(root)
    assert sel.missing == gone
    assert sel.paths == sorted(paths['key'])[2:]
    assert sum(sel.selected.values()) == 4
    assert sum(sel.kept_per_channel.values()) == 2
    assert '2 of 4 selected images are missing' in caplog.text
    assert gone[0] in caplog.text

    with pytest.raises(FileNotFoundError, match='2 of 4 .*missing'):
        nuim.select_images(root, strict=True)

    sel = nuim.select_images(root, check_files=False)
    assert sel.paths == sorted(paths['key']) and sel.missing == []


@pytest.mark.parametrize('table', nuim.REQUIRED_TABLES)
def test_missing_table(nuim_root, table):
    root, _ = nuim_root
    os.remove(nuim.table_path(root, 'v1.0-train', table))
    with pytest.raises(nuim.MissingTableError) as exc:
        nuim.select_images(root)
    msg = str(exc.value)
    assert f'{table}.json' in msg and 'metadata' in msg


def test_missing_version_folder(nuim_root):
    with pytest.raises(nuim.MissingTableError, match='v1.0-val'):
        nuim.select_images(nuim_root[0], version='v1.0-val')


def test_several_versions_make_one_selection(tmp_path):
    root = str(tmp_path / 'nuimages')
    infos = {
        v: nuim.make_fake_tables(root, n, version=v, seed=seed)
        for v, n, seed in (('v1.0-train', 12, 0), ('v1.0-val', 5, 1),
                           ('v1.0-test', 3, 2))
    }
    alone = {
        v: nuim.select_images(root, version=v, check_files=False).paths
        for v in infos
    }
    sel = nuim.select_images(
        root, version=list(infos), check_files=False, chunk_bytes=64)
    assert sel.versions == list(infos)
    assert sel.paths == sorted(p for paths in alone.values() for p in paths)
    assert sel.kept == 12 + 5 + 3  # one key camera image per sample
    assert sel.rows == sum(info['rows'] for info in infos.values())
    assert sel.key_frames == 2 * 20


def test_overlapping_versions_are_an_error(tmp_path):
    root = str(tmp_path / 'nuimages')
    for v in ('v1.0-train', 'v1.0-mini'):  # same seed: the same file names
        nuim.make_fake_tables(root, 4, version=v, seed=0)
    with pytest.raises(ValueError, match='v1.0-mini.*lists samples/.*'
                       'which v1.0-train lists too'):
        nuim.select_images(
            root, version=['v1.0-train', 'v1.0-mini'], check_files=False)
    with pytest.raises(ValueError, match='each version once'):
        nuim.select_images(
            root, version=['v1.0-train', 'v1.0-train'], check_files=False)


def test_row_without_field(nuim_root):
    root, _ = nuim_root
    path = nuim.table_path(root, 'v1.0-train', 'sample_data')
    with open(path) as f:
        rows = json.load(f)
    del rows[3]['is_key_frame']
    with open(path, 'w') as f:
        json.dump(rows, f)
    with pytest.raises(
            nuim.NuImagesFormatError,
            match=r"row 3 has no field 'is_key_frame'"):
        nuim.select_images(root)


def test_dangling_calibrated_sensor(nuim_root):
    root, _ = nuim_root
    path = nuim.table_path(root, 'v1.0-train', 'sample_data')
    with open(path) as f:
        rows = json.load(f)
    rows[1]['calibrated_sensor_token'] = 'nope'
    with open(path, 'w') as f:
        json.dump(rows, f)
    with pytest.raises(nuim.NuImagesFormatError, match="row 1 .*'nope'"):
        nuim.select_images(root)


# --- subsets ----------------------------------------------------------------


def test_nested_subsets_nesting_and_seed():
    paths = [f'samples/CAM_FRONT/{i:04d}.jpg' for i in range(200)]
    subsets = nuim.nested_subsets(paths, [50, 5, 120, 20], seed=0)
    assert sorted(subsets) == [5, 20, 50, 120]
    for n, sub in subsets.items():
        assert len(sub) == len(set(sub)) == n and sub == sorted(sub)
    assert set(subsets[5]) < set(subsets[20]) < set(subsets[50]) \
        < set(subsets[120]) < set(paths)
    # Reproducible, independent of input order and of the other sizes.
    again = nuim.nested_subsets(paths[::-1], [20], seed=0)
    assert again[20] == subsets[20]
    other = nuim.nested_subsets(paths, [20], seed=1)
    assert other[20] != subsets[20]
    # A subset of the full size is the full set.
    assert nuim.nested_subsets(paths, [200])[200] == sorted(paths)


def test_nested_subsets_too_large():
    with pytest.raises(nuim.SubsetTooLargeError, match=r'\[90\] exceed'):
        nuim.nested_subsets(['a', 'b'], [1, 90])
    with pytest.raises(ValueError, match='positive'):
        nuim.nested_subsets(['a', 'b'], [0])


def test_subset_list_path():
    assert nuim.subset_list_path('data/nuimages/train.txt', 5000) == \
        'data/nuimages/train_5000.txt'
    assert nuim.subset_list_path('lists/train', 18) == 'lists/train_18'


def test_write_list_atomic(tmp_path):
    path = str(tmp_path / 'sub' / 'l.txt')
    nuim.write_list(path, ['a/b.jpg', 'c.jpg'])
    with open(path) as f:
        assert f.read() == 'a/b.jpg\nc.jpg\n'
    assert os.listdir(tmp_path / 'sub') == ['l.txt']  # no temp file left


# --- make_fake_tables -------------------------------------------------------


def test_make_fake_tables_matches_extractor(tmp_path):
    root = str(tmp_path / 'fake')
    info = nuim.make_fake_tables(root, 30, sweeps_per_sample=3, seed=1)
    assert info['rows'] == 30 * (2 + 3)
    assert sum(info['key_camera'].values()) == 30
    sel = nuim.select_images(root, check_files=False)
    assert sel.rows == info['rows']
    assert sel.key_frames == info['key_frames'] == 60
    assert dict(sel.selected) == info['key_camera']
    sel = nuim.select_images(root, sweeps=True, check_files=False)
    assert sel.selected_sweeps == sum(info['sweeps'].values()) == 90
    # The other tables follow the schema too.
    for table in ('sample', 'sensor', 'calibrated_sensor', 'log'):
        rows = nuim.load_table(nuim.table_path(root, 'v1.0-train', table))
        assert rows and all('token' in r for r in rows)
    sample = nuim.load_table(nuim.table_path(root, 'v1.0-train', 'sample'))
    assert set(sample[0]) == {
        'token', 'timestamp', 'log_token', 'key_camera_token',
        'key_lidar_token'
    }
    # With images, every camera row's file exists.
    root2 = str(tmp_path / 'fake2')
    nuim.make_fake_tables(root2, 5, write_images=True)
    sel = nuim.select_images(root2, sweeps=True)
    assert sel.kept == 15 and sel.missing == []
    with Image.open(osp.join(root2, sel.paths[0])) as img:
        assert img.format == 'JPEG'
