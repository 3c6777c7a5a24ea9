"""tools/sweep.py end to end: a two-point fine-tune grid plus its test stage
on a tiny synthetic set, two runs at a time, re-run after one run lost its
``.done`` record (only that run again, resumed), then aggregated."""
import glob
import json
import os
import os.path as osp

import pytest

pytestmark = pytest.mark.slow

CONFIG = 'configs/demo/faster-rcnn_r18_fpn_synthetic.py'


def shrink(data_root):
    """--cfg-options for a tiny CPU run: one iteration of 8 images at
    128 x 96, no validation, fewer proposals."""
    root = data_root.rstrip('/') + '/'
    opts = [
        'train_cfg.max_epochs=1', 'randomness.seed=0', 'val_cfg=None',
        'val_dataloader=None', 'val_evaluator=None',
        'default_hooks.checkpoint.save_best=None',
        'train_dataloader.dataset.pipeline.2.scale=(128,96)',
        'test_dataloader.dataset.pipeline.1.scale=(128,96)',
        'model.train_cfg.rpn_proposal.max_per_img=100',
        'model.train_cfg.rcnn.sampler.num=64',
        'model.test_cfg.rpn.max_per_img=100',
        f'test_evaluator.ann_file={root}annotations/val.json'
    ]
    for loader in ('train_dataloader', 'test_dataloader'):
        opts += [
            f'{loader}.dataset.data_root={root}', f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False', f'{loader}.batch_size=8'
        ]
    return opts


def sweep(load_tool, capsys, *args):
    """tools/sweep.py in this process (its runs are subprocesses)."""
    code = load_tool('sweep.py').main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def commands_in(log):
    with open(log) as f:
        return [line for line in f if line.startswith('==== ')]


def test_sweep_resumes_and_aggregates(repo_root, load_tool, tmp_path,
                                      capsys, monkeypatch):
    monkeypatch.chdir(repo_root)
    from ssdet.data.synthetic import generate
    data = str(tmp_path / 'data')
    generate(
        data, seed=0, num_unlabeled=16, num_train=8, num_val=4, num_test=0,
        size=(96, 128))
    work = tmp_path / 'work'
    grid = tmp_path / 'two_lrs.yaml'
    grid.write_text(f"""\
name: two-lrs
stages:
  - name: finetune
    kind: train
    config: {CONFIG}
    axes:
      lr:
        key: optim_wrapper.optimizer.lr
        values: [0.01, 0.02]
  - name: test
    kind: test
    after: finetune
    dump: true
""")
    options = ['--work-root', str(work), '--jobs', '2', '--cfg-options',
               *shrink(data)]

    rc, out = sweep(load_tool, capsys, str(grid), *options)
    assert rc == 0, out[-4000:]
    root = work / 'two-lrs'
    runs = ['finetune/lr-0.01', 'finetune/lr-0.02', 'test/lr-0.01',
            'test/lr-0.02']
    for run in runs:
        assert (root / run / '.done').is_file(), out[-3000:]
    marker = json.loads((root / 'test/lr-0.02/.done').read_text())
    assert marker['axes'] == {'lr': '0.02'}
    assert marker['artifact'].endswith('test/lr-0.02/metrics.json')
    assert osp.isfile(root / 'test/lr-0.02/predictions.pkl')
    ckpt = json.loads((root / 'finetune/lr-0.02/.done').read_text())
    assert ckpt['artifact'].endswith('epoch_1.pth')
    assert '--resume' not in ckpt['command']

    # "interrupt" one fine-tune run after its checkpoint: no .done
    os.remove(root / 'finetune/lr-0.02/.done')
    rc, out = sweep(load_tool, capsys, str(grid), *options)
    assert rc == 0, out[-4000:]
    assert 'skipped' in out and 'resuming' in out
    for run in runs:
        log = str(root / run / 'sweep.log')
        expected = 2 if run == 'finetune/lr-0.02' else 1
        assert len(commands_in(log)) == expected, (run, out[-3000:])
    resumed = json.loads((root / 'finetune/lr-0.02/.done').read_text())
    assert '--resume' in resumed['command']

    # aggregate the two test runs
    aggregate = load_tool('analysis', 'aggregate.py')
    assert aggregate.main([str(root), '--layout', 'coco']) == 0
    csv_lines = (root / 'results' / 'coco.csv').read_text().splitlines()
    assert csv_lines[0] == 'lr,AP,AP50,AP75,APs,APm,APl'
    assert [line.split(',')[0] for line in csv_lines[1:]] == ['0.01', '0.02']
    md = (root / 'results' / 'coco.md').read_text()
    md = ' '.join(md.split())  # cells are padded to their column's width
    assert '| lr | AP | AP50 |' in md
    assert glob.glob(str(root / 'finetune/lr-0.01/*/vis_data/scalars.json'))
