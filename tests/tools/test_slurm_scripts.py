"""tools/slurm_*.sh build the srun command a cluster user expects (a fake
``srun`` on the PATH prints it), and every launch script answers a missing
argument with its usage line."""
import os
import subprocess

import pytest


def run_script(repo_root, tmp_path, name, *args, **env):
    fake = tmp_path / 'bin'
    fake.mkdir(exist_ok=True)
    (fake / 'srun').write_text('#!/bin/sh\necho srun "$@"\n')
    (fake / 'srun').chmod(0o755)
    proc = subprocess.run([f'{repo_root}/tools/{name}', *args],
                          capture_output=True,
                          text=True,
                          env=dict(
                              os.environ,
                              PATH=f'{fake}:{os.environ["PATH"]}',
                              PYTHON='py',
                              **env))
    return proc.returncode, proc.stdout + proc.stderr


def test_slurm_train_and_test(repo_root, tmp_path):
    rc, out = run_script(
        repo_root,
        tmp_path,
        'slurm_train.sh',
        'gpu',
        'job',
        'cfg.py',
        'work_dirs/x',
        '--amp',
        GPUS='8',
        SRUN_ARGS='--qos high')
    assert rc == 0, out
    assert out.split() == [
        'srun', '-p', 'gpu', '--job-name=job', '--gres=gpu:4', '--ntasks=8',
        '--ntasks-per-node=4', '--cpus-per-task=5', '--kill-on-bad-exit=1',
        '--qos', 'high', 'py', '-u', f'{repo_root}/tools/train.py',
        '--launcher', 'slurm', 'cfg.py', '--work-dir=work_dirs/x', '--amp'
    ]
    rc, out = run_script(
        repo_root,
        tmp_path,
        'slurm_test.sh',
        'gpu',
        'job',
        'cfg.py',
        'ck.pth',
        GPUS_PER_NODE='2')
    assert rc == 0, out
    assert out.split()[4:7] == [
        '--gres=gpu:2', '--ntasks=4', '--ntasks-per-node=2'
    ]
    assert out.split()[-5:] == [
        f'{repo_root}/tools/test.py', '--launcher', 'slurm', 'cfg.py', 'ck.pth'
    ]


@pytest.mark.parametrize('name, args', [
    ('dist_train.sh', ['cfg.py']),
    ('dist_test.sh', ['cfg.py', 'ck.pth']),
    ('slurm_train.sh', ['gpu', 'job', 'cfg.py']),
    ('slurm_test.sh', ['gpu', 'job', 'cfg.py']),
])
def test_missing_argument_gives_the_usage(repo_root, tmp_path, name, args):
    rc, out = run_script(repo_root, tmp_path, name, *args)
    assert rc == 2
    assert out.startswith(f'usage: tools/{name} ')
