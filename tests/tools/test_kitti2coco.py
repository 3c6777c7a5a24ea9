"""Tests of the door tools/dataset_converters/kitti2coco.py."""
import json
import os.path as osp
import shutil
import subprocess
import sys

import pytest


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('dataset_converters', 'kitti2coco.py')


@pytest.fixture
def kitti_copy(kitti_root, tmp_path):
    dst = tmp_path / 'kitti'
    shutil.copytree(osp.join(kitti_root, 'training'), dst / 'training')
    return dst


def test_summary_table_and_outputs(tool, kitti_root, tmp_path, capsys):
    out = tmp_path / 'ann'
    tool.main([kitti_root, '--out', str(out), '--val-ratio', '0.5'])
    printed = capsys.readouterr().out
    assert '| images ' in printed
    assert '| Car ' in printed and '| Cyclist ' in printed
    assert 'dropped boxes (type not in --classes): Misc 1' in printed
    assert 'DontCare (ignore regions)' in printed
    train = json.load(open(out / 'train.json'))
    val = json.load(open(out / 'val.json'))
    assert len(train['images']) == len(val['images']) == 3


def test_seeded_split_reproducible(tool, kitti_root, tmp_path):

    def split(seed, name):
        out = tmp_path / name
        tool.main([kitti_root, '--out', str(out), '--seed', str(seed)])
        return [
            sorted(im['id'] for im in json.load(open(out / f))['images'])
            for f in ('train.json', 'val.json')
        ]

    first = split(0, 'a')
    assert split(0, 'b') == first
    assert not set(first[0]) & set(first[1])
    assert sorted(first[0] + first[1]) == list(range(6))
    seeds = {tuple(split(s, f's{s}')[1]) for s in range(1, 6)}
    assert len(seeds) > 1  # the seed changes the split


def test_force(tool, kitti_root, tmp_path, capsys):
    out = tmp_path / 'ann'
    tool.main([kitti_root, '--out', str(out)])
    with pytest.raises(SystemExit) as info:
        tool.main([kitti_root, '--out', str(out)])
    assert info.value.code == 1
    assert '--force' in capsys.readouterr().err
    tool.main([kitti_root, '--out', str(out), '--force'])


@pytest.mark.parametrize('line, message', [
    ('Car 0.00 0 1.55 614.24 181.78 727.31', 'expected 15 fields'),
    ('Car 0.00 0 1.55 614.24 x 727.31 284.77 1 1 1 1 1 1 1', 'non-numeric'),
    ('Car 0.00 0 1.55 614.24 181.78 614.24 284.77 1 1 1 1 1 1 1', 'x2'),
    ('Bus 0.00 0 1.55 614.24 181.78 727.31 284.77 1 1 1 1 1 1 1',
     'unknown class'),
])
def test_malformed_line_names_file_and_line(tool, kitti_copy, tmp_path, line,
                                            message, capsys):
    with open(kitti_copy / 'training' / 'label_2' / '000004.txt', 'a') as f:
        f.write(line + '\n')
    with pytest.raises(SystemExit) as info:
        tool.main([str(kitti_copy), '--out', str(tmp_path / 'ann')])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert '000004.txt:8: ' in err and message in err
    assert not (tmp_path / 'ann').exists()


def test_skip_bad_counts(tool, kitti_copy, tmp_path, capsys):
    label_dir = kitti_copy / 'training' / 'label_2'
    with open(label_dir / '000004.txt', 'a') as f:
        f.write('Car 1 2\n')
    with open(label_dir / '000000.txt', 'a') as f:
        f.write('Bus 0.00 0 1.55 614.24 181.78 727.31 284.77 1 1 1 1 1 1 1\n')
    summary = tool.main(
        [str(kitti_copy), '--out',
         str(tmp_path / 'ann'), '--skip-bad'])
    assert len(summary['bad_lines']) == 2
    printed = capsys.readouterr().out
    assert 'skipped malformed lines: 2' in printed
    assert '000000.txt:2:' in printed and '000004.txt:8:' in printed


def test_merge_person_and_classes(tool, kitti_root, tmp_path):
    out = tmp_path / 'ann'
    tool.main([
        kitti_root, '--out',
        str(out), '--val-ratio', '0', '--merge-person', '--classes', 'Car',
        'Pedestrian', 'Person_sitting'
    ])
    coco = json.load(open(out / 'train.json'))
    assert [c['name'] for c in coco['categories']] == ['Car', 'Pedestrian']


def test_runs_as_script(repo_root, kitti_root, tmp_path):
    script = osp.join(repo_root, 'tools', 'dataset_converters',
                      'kitti2coco.py')
    proc = subprocess.run(
        [sys.executable, script, kitti_root, '--out',
         str(tmp_path / 'ann')],
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / 'ann' / 'val.json').is_file()
    assert 'label files' in proc.stderr  # the tqdm bar
