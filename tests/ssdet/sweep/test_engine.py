"""The engine (doit) with a stub executor: commands per launcher, dry run,
records, skip / resume / failure / blocking / staleness, selection,
parallel runs and the summary."""
import json
import os
import os.path as osp

import pytest

from ssdet.sweep import (SweepError, SweepOptions, adopt, exit_code, expand,
                         parse_grid, run_state, run_sweep, select,
                         summary_table)

GRID = dict(
    name='g',
    inputs=dict(weights='ckpts/swav.pth'),
    stages=[
        dict(name='convert', kind='convert', src='{inputs.weights}',
             src_format='swav'),
        dict(
            name='finetune',
            kind='train',
            after='convert',
            config='configs/det.py',
            cfg_options={
                'model.backbone.init_cfg.checkpoint': '{convert.checkpoint}',
                'train_cfg.max_epochs': 2
            },
            args=['--amp'],
            axes=dict(
                lr=dict(key='optim_wrapper.optimizer.lr', values=[0.01,
                                                                  0.02]),
                norm=dict(values={
                    'bn': dict(config='configs/det-bn.py'),
                    'gn': dict(config='configs/det-gn.py',
                               cfg_options={'model.neck.x': 1}),
                }))),
        dict(
            name='test',
            kind='test',
            after='finetune',
            checkpoint='{finetune.work_dir}/epoch_{epoch}.pth',
            dump=True,
            axes=dict(epoch=[1, 2])),
    ])


@pytest.fixture
def runs(tmp_path):
    return expand(parse_grid(GRID, 'g.yaml', work_root=str(tmp_path)))


class Stub:
    """Pretends to run the tools: writes what they would write."""

    def __init__(self, fail=()):
        self.fail = set(fail)
        self.calls = []

    def __call__(self, cmd, env, log):
        self.calls.append(cmd)
        work_dir = osp.dirname(log)
        os.makedirs(work_dir, exist_ok=True)
        with open(log, 'a') as f:
            f.write('==== ' + ' '.join(cmd) + '\n')
        if any(pattern in work_dir for pattern in self.fail):
            return 1
        if cmd[1].endswith('convert.py'):
            open(cmd[-1], 'wb').close()
        elif cmd[1].endswith('train.py'):
            for epoch in (1, 2):
                ckpt = osp.join(work_dir, f'epoch_{epoch}.pth')
                open(ckpt, 'wb').close()
            with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
                f.write(ckpt)
        elif cmd[1].endswith('test.py'):
            path = cmd[cmd.index('--metrics-out') + 1]
            with open(path, 'w') as f:
                json.dump(dict(metrics={'coco/bbox_mAP': 0.5}), f)
        return 0


def keys(results, status):
    return [r.run.key for r in results if r.status == status]


def test_dry_run_prints_commands_with_symbolic_outputs(runs, tmp_path):
    lines = []
    opts = SweepOptions(python='python', tools_dir='tools')
    results = run_sweep(runs, opts, dry_run=True, echo=lines.append)
    assert {r.status for r in results} == {'dry-run'}
    text = '\n'.join(lines)
    wd = str(tmp_path / 'g')
    assert (f'python tools/model_converters/convert.py --src-format swav '
            f'--target mmdet --force ckpts/swav.pth '
            f'{wd}/convert/default/converted.pth') in text
    assert (f'python tools/train.py configs/det-gn.py --work-dir '
            f'{wd}/finetune/lr-0.02_norm-gn --amp --cfg-options '
            f'model.backbone.init_cfg.checkpoint={wd}/convert/default/'
            f'converted.pth train_cfg.max_epochs=2 '
            f'optim_wrapper.optimizer.lr=0.02 model.neck.x=1') in text
    assert (f'python tools/test.py configs/det-bn.py '
            f'{wd}/finetune/lr-0.01_norm-bn/epoch_1.pth --work-dir '
            f'{wd}/test/lr-0.01_norm-bn_epoch-1 --metrics-out '
            f'{wd}/test/lr-0.01_norm-bn_epoch-1/metrics.json --out '
            f'{wd}/test/lr-0.01_norm-bn_epoch-1/predictions.pkl') in text
    assert not os.listdir(tmp_path)  # a dry run writes nothing


def test_symbolic_train_checkpoint_in_dry_run(tmp_path):
    grid = dict(stages=[
        dict(name='pre', kind='train', config='a.py'),
        dict(name='ft', kind='train', after='pre', config='b.py',
             cfg_options={'ckpt': '{pre.checkpoint}'})
    ])
    runs = expand(parse_grid(grid, 'x.yaml', work_root=str(tmp_path)))
    lines = []
    run_sweep(runs, SweepOptions(python='python'), dry_run=True,
              echo=lines.append)
    assert (f'"ckpt=$(cat {tmp_path}/x/pre/default/last_checkpoint)"'
            in lines[-1])


def test_launchers(runs):
    finetune = runs[1]
    lines = []
    run_sweep([finetune], SweepOptions(launcher='pytorch', gpus=4,
                                       python='py'),
              dry_run=True, echo=lambda s: lines.extend(s.splitlines()))
    assert lines[-1].startswith('PYTHON=py tools/dist_train.sh '
                                'configs/det-bn.py 4 --work-dir ')
    lines = []
    run_sweep([finetune, runs[5]],
              SweepOptions(launcher='slurm', gpus=8, partition='gpu',
                           python='py'),
              dry_run=True, echo=lambda s: lines.extend(s.splitlines()))
    assert lines[1].startswith(
        'PYTHON=py GPUS=8 GPUS_PER_NODE=8 tools/slurm_train.sh gpu '
        'g.finetune.lr-0.01_norm-bn configs/det-bn.py ')
    assert lines[3].startswith('PYTHON=py GPUS=8 GPUS_PER_NODE=8 '
                               'tools/slurm_test.sh gpu ')
    with pytest.raises(SweepError, match='partition'):
        SweepOptions(launcher='slurm').check()
    with pytest.raises(SweepError, match='--launcher pytorch'):
        SweepOptions(gpus=2).check()


def test_failure_blocks_dependents_and_rerun_resumes(runs, tmp_path):
    stub = Stub(fail=['finetune/lr-0.02_norm-gn'])
    opts = SweepOptions(python='python')
    results = run_sweep(runs, opts, executor=stub, echo=lambda s: None)
    assert keys(results, 'failed') == ['finetune/lr-0.02_norm-gn']
    assert keys(results, 'blocked') == [
        'test/lr-0.02_norm-gn_epoch-1', 'test/lr-0.02_norm-gn_epoch-2'
    ]
    assert len(keys(results, 'done')) == 1 + 3 + 6
    assert exit_code(results) == 1
    table = summary_table(results)
    assert 'finetune/lr-0.02_norm-gn' in table and 'exit code 1' in table
    assert '10 done, 1 failed, 2 blocked' in table

    marker = json.loads(
        open(tmp_path / 'g/test/lr-0.01_norm-bn_epoch-2/.done').read())
    assert marker['axes'] == {'lr': '0.01', 'norm': 'bn', 'epoch': '2'}
    assert marker['values']['lr'] == 0.01
    assert marker['artifact'].endswith('epoch-2/metrics.json')
    assert marker['command'][1] == 'tools/test.py'

    # the failed run left a checkpoint: the rerun resumes it, and only the
    # unfinished runs execute
    failed_dir = tmp_path / 'g/finetune/lr-0.02_norm-gn'
    (failed_dir / 'last_checkpoint').write_text(str(failed_dir / 'e1.pth'))
    stub = Stub()
    results = run_sweep(runs, opts, executor=stub, echo=lambda s: None)
    assert len(stub.calls) == 3
    assert '--resume' in stub.calls[0]
    assert stub.calls[0].index('--resume') < stub.calls[0].index(
        '--cfg-options')
    assert keys(results, 'done') == [
        'finetune/lr-0.02_norm-gn', 'test/lr-0.02_norm-gn_epoch-1',
        'test/lr-0.02_norm-gn_epoch-2'
    ]
    assert len(keys(results, 'skipped')) == 10
    assert exit_code(results) == 0


def test_missing_artifact_is_a_failure(runs):
    def no_output(cmd, env, log):
        return 0

    results = run_sweep(runs[:2], SweepOptions(), executor=no_output,
                        echo=lambda s: None)
    assert results[0].status == 'failed'
    assert 'does not exist' in results[0].message
    assert results[1].status == 'blocked'


def test_interrupt_stops_the_sweep(runs):
    def interrupted(cmd, env, log):
        raise KeyboardInterrupt

    results = run_sweep(runs, SweepOptions(), executor=interrupted,
                        echo=lambda s: None)
    assert results[0].status == 'interrupted'
    assert {r.status for r in results[1:]} == {'not run'}
    assert exit_code(results) == 130


def test_only_selects_runs_and_what_they_need(runs):
    chosen = select(runs, ['test/*norm-gn_epoch-2'])
    assert [r.key for r in chosen] == [
        'convert/default', 'finetune/lr-0.01_norm-gn',
        'finetune/lr-0.02_norm-gn', 'test/lr-0.01_norm-gn_epoch-2',
        'test/lr-0.02_norm-gn_epoch-2'
    ]
    assert len(select(runs, ['finetune'])) == 5
    assert len(select(runs, ['lr-0.01_norm-bn'])) == 2
    with pytest.raises(SweepError, match="matches no run"):
        select(runs, ['nothing*'])


def expand_with(tmp_path, **finetune_options):
    """The runs of GRID with the finetune stage's cfg_options updated."""
    grid = json.loads(json.dumps(GRID))
    grid['stages'][1]['cfg_options'].update(finetune_options)
    return expand(parse_grid(grid, 'g.yaml', work_root=str(tmp_path)))


def test_changed_options_make_runs_stale_until_rerun(tmp_path):
    opts = SweepOptions(python='python')
    quiet = dict(echo=lambda s: None)
    runs = expand_with(tmp_path)
    assert run_state(runs[1], opts) == 'new'
    assert exit_code(run_sweep(runs, opts, executor=Stub(), **quiet)) == 0
    marker = json.loads(
        (tmp_path / 'g/finetune/lr-0.01_norm-bn/.done').read_text())
    assert marker['recipe']['config'] == 'configs/det-bn.py'
    assert 'train_cfg.max_epochs=2' in marker['recipe']['cfg_options']

    # the same grid again: everything skipped, nothing runs
    stub = Stub()
    results = run_sweep(runs, opts, executor=stub, **quiet)
    assert not stub.calls and len(keys(results, 'skipped')) == 13

    # one option changed: the old results are kept, not reused
    runs = expand_with(tmp_path, **{'train_cfg.max_epochs': 3})
    stub, lines = Stub(), []
    results = run_sweep(runs, opts, executor=stub, echo=lines.append)
    assert not stub.calls
    assert keys(results, 'skipped') == ['convert/default']
    assert len(keys(results, 'stale')) == 4
    assert len(keys(results, 'blocked')) == 8
    assert exit_code(results) == 1
    assert "'train_cfg.max_epochs=2'" in results[1].message
    assert "'train_cfg.max_epochs=3'" in results[1].message
    assert '--rerun-stale' in results[1].message
    assert 'stale' in summary_table(results)
    assert [run_state(run, opts) for run in runs[:2]] == ['done', 'stale']
    assert (tmp_path / 'g/finetune/lr-0.01_norm-bn/.done').exists()

    # a dry run says what --rerun-stale would do, and moves nothing
    lines = []
    run_sweep(runs, opts, dry_run=True, echo=lines.append, rerun_stale=True)
    assert any('would move' in line for line in lines)
    assert not list((tmp_path / 'g/finetune').glob('*.stale-*'))

    # --rerun-stale: each stale run is moved aside and rerun, and so is
    # every test of its (new) checkpoints
    stub = Stub()
    results = run_sweep(runs, opts, executor=stub, rerun_stale=True,
                        **quiet)
    assert len(stub.calls) == 4 + 8
    assert all('--resume' not in cmd for cmd in stub.calls)
    assert exit_code(results) == 0
    aside = list((tmp_path / 'g/finetune').glob('lr-0.01_norm-bn.stale-*'))
    assert len(aside) == 1 and (aside[0] / '.done').exists()
    assert len(list((tmp_path / 'g/test').glob('*.stale-*'))) == 8

    # a rewritten input (the checkpoint a test used, e.g. retrained by
    # another sweep) makes only the runs that used it stale
    ckpt = tmp_path / 'g/finetune/lr-0.01_norm-bn/epoch_1.pth'
    new = tmp_path / 'new.pth'
    new.write_bytes(b'retrained')
    os.replace(new, ckpt)
    results = run_sweep(runs, opts, executor=Stub(), **quiet)
    assert keys(results, 'stale') == ['test/lr-0.01_norm-bn_epoch-1']
    assert f'rewritten or missing: {ckpt}' in results[5].message

    # global --cfg-options count too: a smoke run is not the real one
    smoke = SweepOptions(python='python', cfg_options=['a=1'])
    results = run_sweep(runs, smoke, executor=Stub(), **quiet)
    assert len(keys(results, 'stale')) == 4


def test_markers_without_a_recipe_are_trusted(runs, tmp_path):
    opts = SweepOptions(python='python')
    run_sweep(runs, opts, executor=Stub(), echo=lambda s: None)
    for path in (tmp_path / 'g').glob('*/*/.done'):
        marker = json.loads(path.read_text())
        del marker['recipe']
        path.write_text(json.dumps(marker))
    runs = expand_with(tmp_path, **{'train_cfg.max_epochs': 3})
    stub = Stub()
    results = run_sweep(runs, opts, executor=stub, echo=lambda s: None)
    assert not stub.calls and len(keys(results, 'skipped')) == 13


def test_parallel_runs_keep_order_isolation_and_leave_no_engine_state(
        runs, tmp_path):
    stub = Stub(fail=['finetune/lr-0.02_norm-gn'])
    results = run_sweep(runs, SweepOptions(python='python'), executor=stub,
                        echo=lambda s: None, jobs=3)
    assert keys(results, 'failed') == ['finetune/lr-0.02_norm-gn']
    assert len(keys(results, 'blocked')) == 2
    assert len(keys(results, 'done')) == 10
    # every run started after the run it needs (a test resolves its
    # checkpoint from the fine-tune's record, or fails)
    assert stub.calls[0][1].endswith('convert.py')
    # what a run leaves is its work dir; the engine keeps no other state
    assert sorted(os.listdir(tmp_path)) == ['g']
    assert sorted(os.listdir(tmp_path / 'g')) == ['convert', 'finetune',
                                                  'test']
    assert sorted(os.listdir(tmp_path / 'g/convert/default')) == [
        '.done', 'converted.pth', 'sweep.log'
    ]


def test_runs_side_by_side_on_one_machine_wait_passively(
        tmp_path, monkeypatch):
    """--jobs N without a launcher: the runs share this machine's cores, so
    their OpenMP threads wait passively (the user's policy wins); one at a
    time, or each in its own allocation, the environment is left alone."""

    def policies(jobs, launcher, dry_run=False):
        root = tmp_path / str(len(os.listdir(tmp_path)))  # a new sweep
        grid = parse_grid(GRID, 'g.yaml', work_root=str(root))
        seen, stub = set(), Stub()

        def record(cmd, env, log):
            seen.add(env.get('OMP_WAIT_POLICY'))
            return stub(cmd, env, log)

        lines = []
        run_sweep(expand(grid),
                  SweepOptions(launcher=launcher, partition='gpu',
                               python='py'),
                  executor=record, jobs=jobs, dry_run=dry_run,
                  echo=lambda s: lines.extend(s.splitlines()))
        return seen, lines

    monkeypatch.delenv('OMP_WAIT_POLICY', raising=False)
    assert policies(2, 'none')[0] == {'PASSIVE'}
    assert policies(1, 'none')[0] == {None}
    assert policies(2, 'slurm')[0] == {None}
    # the dry run prints what would run
    assert policies(2, 'none', dry_run=True)[1][1].startswith(
        'OMP_WAIT_POLICY=PASSIVE py tools/model_converters/convert.py ')
    monkeypatch.setenv('OMP_WAIT_POLICY', 'ACTIVE')
    assert policies(3, 'none')[0] == {'ACTIVE'}


def test_dry_run_after_an_upstream_change(tmp_path):
    opts, quiet = SweepOptions(python='python'), dict(echo=lambda s: None)
    run_sweep(expand_with(tmp_path), opts, executor=Stub(), **quiet)
    runs = expand_with(tmp_path, **{'train_cfg.max_epochs': 3})
    lines = []
    results = run_sweep(runs, opts, dry_run=True, echo=lines.append)
    assert len(keys(results, 'stale')) == 4
    assert len(keys(results, 'blocked')) == 8
    lines = []
    results = run_sweep(runs, opts, dry_run=True, echo=lines.append,
                        rerun_stale=True)
    assert len(keys(results, 'dry-run')) == 12
    assert any('stale once finetune/lr-0.01_norm-bn reruns' in line
               for line in lines)


def test_adopt_records_an_existing_output_and_force_reruns_it(tmp_path):
    grid = dict(stages=[
        dict(name='data', kind='command',
             argv=['{python}', 'make.py', '--out', '{work_dir}/d.json'],
             artifact='{work_dir}/d.json'),
        dict(name='use', kind='command', after='data',
             argv=['{python}', 'use.py', '{data.artifact}'],
             artifact='{work_dir}/u.json'),
    ])
    runs = expand(parse_grid(grid, 'x.yaml', work_root=str(tmp_path)))
    opts = SweepOptions(python='/venv/bin/python')
    data = tmp_path / 'x/data/default'
    data.mkdir(parents=True)
    (data / 'd.json').write_text('{}')
    assert run_state(runs[0], opts) == 'started'
    assert adopt(runs[0], opts) == str(data / 'd.json')
    marker = json.loads((data / '.done').read_text())
    assert marker['command'][:2] == ['/venv/bin/python', 'make.py']
    assert 'not made by the sweep' in marker['note']
    assert run_state(runs[0], opts) == 'done'

    calls = []

    def make(cmd, env, log):
        calls.append(cmd)
        out = cmd[-1] if cmd[1] == 'make.py' else osp.join(
            osp.dirname(log), 'u.json')
        os.makedirs(osp.dirname(out), exist_ok=True)
        open(out, 'w').close()
        return 0

    results = run_sweep(runs, opts, executor=make, echo=lambda s: None)
    assert [r.status for r in results] == ['skipped', 'done']
    assert calls == [['/venv/bin/python', 'use.py', str(data / 'd.json')]]
    # {python} is the interpreter, but not part of the recipe
    opts.python = '/other/python'
    assert run_state(runs[0], opts) == 'done'

    calls.clear()
    results = run_sweep(runs, opts, executor=make, echo=lambda s: None,
                        force=['data/default'])
    assert [r.status for r in results] == ['done', 'stale']
    assert calls[0][:2] == ['/other/python', 'make.py']
    assert len(list((tmp_path / 'x/data').glob('default.stale-*'))) == 1


def test_an_input_rewritten_with_the_same_content_is_no_change(
        runs, tmp_path):
    opts = SweepOptions(python='python')
    run_sweep(runs, opts, executor=Stub(), echo=lambda s: None)
    test = runs[5]  # test/lr-0.01_norm-bn_epoch-1 of finetune's epoch_1.pth
    ckpt = tmp_path / 'g/finetune/lr-0.01_norm-bn/epoch_1.pth'
    copy = tmp_path / 'copy.pth'
    copy.write_bytes(ckpt.read_bytes())
    os.utime(copy, ns=(1, 1))
    os.replace(copy, ckpt)  # another file, another time, the same bytes
    assert run_state(test, opts) == 'done'
    ckpt.write_bytes(b'retrained')
    assert run_state(test, opts) == 'stale'
    # records that hold [size, mtime_ns, inode] per input compare that way
    record = tmp_path / 'g/test/lr-0.01_norm-bn_epoch-1/.done'
    marker = json.loads(record.read_text())
    st = os.stat(ckpt)
    marker['recipe']['inputs'][str(ckpt)] = [
        st.st_size, st.st_mtime_ns, st.st_ino
    ]
    record.write_text(json.dumps(marker))
    assert run_state(test, opts) == 'done'
    ckpt.write_bytes(b'retrained again')
    assert run_state(test, opts) == 'stale'
