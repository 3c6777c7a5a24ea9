import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from ssdet.data.synthetic import CLASSES


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('dataset_converters', 'make_synthetic.py')


def test_tool_runs_as_a_script(repo_root, tmp_path):
    out = str(tmp_path / 'synthetic')
    cmd = [
        sys.executable, 'tools/dataset_converters/make_synthetic.py', '--out',
        out, '--seed', '1', '--num-unlabeled', '6', '--num-train', '4',
        '--num-val', '2', '--num-test', '3', '--size', '64', '96'
    ]
    proc = subprocess.run(
        cmd, cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # The summary table: a header naming every class, one row per split.
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.split()[:1] == ['split'])
    assert all(name in header for name in CLASSES)
    rows = {line.split()[0]: line.split() for line in lines if line.strip()}
    assert rows['train'][1] == '4' and rows['val'][1] == '2'
    assert rows['test'][1] == '3'
    assert rows['unlabeled'][1] == '6'
    assert 'train' in proc.stderr  # tqdm progress bars
    with open(osp.join(out, 'annotations', 'train.json')) as f:
        train = json.load(f)
    assert [im['file_name'] for im in train['images']] == [
        'train/000000.png', 'train/000001.png', 'train/000002.png',
        'train/000003.png'
    ]
    assert all(im['height'] == 64 and im['width'] == 96
               for im in train['images'])
    assert len(os.listdir(osp.join(out, 'unlabeled'))) == 6
    with open(osp.join(out, 'summary.json')) as f:
        summary = json.load(f)
    assert summary['seed'] == 1 and summary['size'] == [64, 96]
    assert rows['train'][2] == str(summary['splits']['train']['annotations'])


def test_tool_refuses_to_overwrite_without_force(tool, tmp_path, capsys):
    out = str(tmp_path / 'synthetic')
    args = [
        '--out', out, '--num-unlabeled', '2', '--num-train', '2', '--num-val',
        '1', '--num-test', '1', '--size', '48', '64'
    ]
    assert tool.main(args) == 0
    with open(osp.join(out, 'annotations', 'val.json'), 'rb') as f:
        first = f.read()
    capsys.readouterr()
    assert tool.main(args) == 1
    err = capsys.readouterr().err
    assert 'not empty' in err and '--force' in err
    assert tool.main(args + ['--force']) == 0
    with open(osp.join(out, 'annotations', 'val.json'), 'rb') as f:
        assert f.read() == first
