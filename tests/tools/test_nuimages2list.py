import os
import os.path as osp

import pytest

from ssdet.data.nuimages import make_fake_tables


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('dataset_converters', 'nuimages2list.py')


@pytest.fixture
def fake_root(tmp_path):
    root = str(tmp_path / 'nuimages')
    info = make_fake_tables(root, 40, sweeps_per_sample=2, write_images=True)
    return root, info


def _lines(path):
    with open(path) as f:
        return f.read().splitlines()


def test_lists_and_nested_subsets(tool, fake_root, tmp_path, capsys):
    root, info = fake_root
    out = str(tmp_path / 'lists' / 'train.txt')
    assert tool.main([root, '--out', out, '--subsets', '20', '5', '10']) == 0
    full = _lines(out)
    assert len(full) == 40 and full == sorted(full)
    assert all(
        p.startswith('samples/CAM_') and osp.isfile(osp.join(root, p))
        for p in full)
    subs = {
        n: _lines(str(tmp_path / 'lists' / f'train_{n}.txt'))
        for n in (5, 10, 20)
    }
    assert set(subs[5]) < set(subs[10]) < set(subs[20]) < set(full)
    assert sorted(os.listdir(tmp_path / 'lists')) == [
        'train.txt', 'train_10.txt', 'train_20.txt', 'train_5.txt'
    ]
    text = capsys.readouterr().out
    assert 'sample_data rows: 160' in text
    assert 'key frames (all sensors): 80' in text
    assert 'skipped (file missing): 0' in text

    # Same seed, same subsets; another seed, other subsets.
    out2 = str(tmp_path / 'again' / 'train.txt')
    tool.main([root, '--out', out2, '--subsets', '10'])
    assert _lines(str(tmp_path / 'again' / 'train_10.txt')) == subs[10]
    out3 = str(tmp_path / 'seed1' / 'train.txt')
    tool.main([root, '--out', out3, '--subsets', '10', '--seed', '1'])
    assert _lines(str(tmp_path / 'seed1' / 'train_10.txt')) != subs[10]


def test_channels_and_sweeps(tool, fake_root, tmp_path):
    root, info = fake_root
    out = str(tmp_path / 'front.txt')
    tool.main([
        root, '--out', out, '--channels', 'CAM_FRONT', 'CAM_BACK', '--sweeps'
    ])
    lines = _lines(out)
    expected = sum(info['key_camera'].get(c, 0) + info['sweeps'].get(c, 0)
                   for c in ('CAM_FRONT', 'CAM_BACK'))
    assert len(lines) == expected > 0
    assert any(p.startswith('sweeps/') for p in lines)
    assert all(p.split('/')[1] in ('CAM_FRONT', 'CAM_BACK') for p in lines)


def test_several_versions_make_one_list(tool, tmp_path, capsys):
    """--version v1.0-train v1.0-val: one list of both splits, which holds
    the train list and its subsets (the lists of the retraining sizes)."""
    root = str(tmp_path / 'nuimages')
    make_fake_tables(root, 30, write_images=True)
    make_fake_tables(root, 10, version='v1.0-val', seed=1, write_images=True)
    train = str(tmp_path / 'train.txt')
    both = str(tmp_path / 'all.txt')
    assert tool.main([root, '--out', train, '--subsets', '10']) == 0
    assert tool.main(
        [root, '--version', 'v1.0-train', 'v1.0-val', '--out', both]) == 0
    assert len(_lines(both)) == 40 and _lines(both) == sorted(_lines(both))
    assert set(_lines(str(tmp_path / 'train_10.txt'))) < set(
        _lines(train)) < set(_lines(both))
    assert 'versions: v1.0-train v1.0-val' in capsys.readouterr().out


def test_refuses_overwrite_without_force(tool, fake_root, tmp_path):
    root, _ = fake_root
    out = str(tmp_path / 'train.txt')
    sub = str(tmp_path / 'train_5.txt')
    with open(sub, 'w') as f:
        f.write('old\n')
    with pytest.raises(SystemExit) as exc:
        tool.main([root, '--out', out, '--subsets', '5'])
    assert 'train_5.txt' in str(exc.value.code)
    assert '--force' in str(exc.value.code)
    assert not osp.exists(out) and _lines(sub) == ['old']
    tool.main([root, '--out', out, '--subsets', '5', '--force'])
    assert len(_lines(sub)) == 5 and len(_lines(out)) == 40


def test_subset_too_large_writes_nothing(tool, fake_root, tmp_path):
    root, _ = fake_root
    out = str(tmp_path / 'train.txt')
    with pytest.raises(SystemExit) as exc:
        tool.main([root, '--out', out, '--subsets', '5', '90'])
    assert 'exceed the 40 selected' in str(exc.value.code)
    assert os.listdir(tmp_path) == ['nuimages']


def test_missing_images(tool, fake_root, tmp_path, capsys):
    root, _ = fake_root
    first = sorted(os.listdir(osp.join(root, 'samples')))[0]
    folder = osp.join(root, 'samples', first)
    removed = sorted(os.listdir(folder))
    for name in removed:
        os.remove(osp.join(folder, name))
    out = str(tmp_path / 'train.txt')
    tool.main([root, '--out', out])
    assert len(_lines(out)) == 40 - len(removed)
    assert f'skipped (file missing): {len(removed)}' in capsys.readouterr().out

    with pytest.raises(SystemExit) as exc:
        tool.main([root, '--out', out, '--force', '--strict'])
    assert 'missing' in str(exc.value.code)

    tool.main([root, '--out', out, '--force', '--no-check-files'])
    assert len(_lines(out)) == 40
    assert 'files not checked' in capsys.readouterr().out


def test_missing_table(tool, fake_root, tmp_path):
    root, _ = fake_root
    os.remove(osp.join(root, 'v1.0-train', 'calibrated_sensor.json'))
    with pytest.raises(SystemExit) as exc:
        tool.main([root, '--out', str(tmp_path / 'l.txt')])
    assert 'calibrated_sensor.json' in str(exc.value.code)
    assert 'metadata' in str(exc.value.code)
