"""The hostile-input corpus: files made to run code, through every entry
point that takes a file.

Each payload would create a marker file if anything ran it. Every test
asserts that the marker does not exist and that the user got a clear error
naming the file, or that the file was read as plain data. The
odd-but-harmless cases (wrong dtype or shape, NaN weights, empty and
truncated files) end in a clear error before training. docs/security.md
says how each entry point treats an untrusted file.
"""
import os
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch
import yaml
from mmengine.registry import init_default_scope

from custom_modules.compat.checkpoint import (CheckpointReadError,
                                              UnsafeCheckpointError,
                                              load_checkpoint_file)
from custom_modules.transfer import TransferError

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


class Payload:
    """Unpickling this runs ``os.system('touch MARKER')``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def python_payload(marker) -> str:
    """Config text that writes ``marker`` when executed."""
    return (f"import os\nos.system('touch {marker}')\n"
            f"open({str(marker)!r}, 'w').write('ran')\n"
            'model = dict(data_preprocessor=dict(mean=[123.675, 116.28, '
            '103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),\n'
            "             backbone=dict(type='ResNet', depth=18))\n")


def resnet18_state(prefix='backbone.'):
    from mmdet.models.backbones import ResNet
    return {prefix + k: v for k, v in ResNet(depth=18).state_dict().items()}


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / 'PAYLOAD_RAN'
    yield path
    assert not path.exists(), 'a payload ran'


@pytest.fixture
def reduce_pth(tmp_path, marker):
    """A ``.pth`` whose weights are fine but which also pickles a payload."""
    path = tmp_path / 'reduce.pth'
    torch.save(
        dict(state_dict=resnet18_state(), meta=dict(x=Payload(marker))), path)
    return str(path)


def build_backbone(checkpoint):
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    return MODELS.build(
        dict(
            type='ResNet',
            depth=18,
            init_cfg=dict(
                type='VerifiedPretrained', checkpoint=str(checkpoint))))


# ------------------------------------------------------------ checkpoints
def test_pickle_payload_refused_by_every_checkpoint_entry_point(
        reduce_pth, tmp_path, marker):
    from mmengine.runner.checkpoint import CheckpointLoader

    from ssdet.checkpoints import convert
    # mmengine's loader: load_from, --resume and tools/test.py all use it
    with pytest.raises(UnsafeCheckpointError, match='reduce.pth'):
        CheckpointLoader.load_checkpoint(reduce_pth, map_location='cpu')
    # init_cfg=VerifiedPretrained
    with pytest.raises(UnsafeCheckpointError, match='reduce.pth'):
        build_backbone(reduce_pth).init_weights()
    # tools/model_converters/convert.py
    with pytest.raises(UnsafeCheckpointError, match='reduce.pth'):
        convert(reduce_pth, str(tmp_path / 'out.pth'))
    assert not (tmp_path / 'out.pth').exists()


def test_meta_cfg_text_is_data_for_the_transfer_check(tmp_path, marker):
    """A checkpoint whose ``meta['cfg']`` holds Python that imports ``os``:
    the weights load, the conventions are read as data, nothing runs."""
    from types import SimpleNamespace

    from mmengine.config import Config

    from custom_modules.engine.hooks import TransferCheckHook
    path = tmp_path / 'meta_cfg.pth'
    torch.save(
        dict(state_dict=resnet18_state(), meta=dict(cfg=python_payload(
            marker))), path)
    backbone = build_backbone(path)
    backbone.init_weights()
    model = SimpleNamespace(backbone=backbone, data_preprocessor=None)
    runner = SimpleNamespace(model=model, cfg=Config(dict()))
    TransferCheckHook().before_train(runner)
    assert backbone.transfer_info['matched']


def test_resume_does_not_execute_meta_config(tmp_path, marker):
    """mmengine 0.10.7's ``Runner.resume`` runs ``Config.fromstring`` on
    ``meta['config']``; the loader moves that text aside as data."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):

        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 2)

        def forward(self, inputs=None, data_samples=None, mode='tensor'):
            return dict(loss=self.linear(torch.ones(1, 2)).sum())

    runner = Runner(
        model=Toy(),
        work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(
            dataset=[dict(inputs=torch.ones(2))] * 2,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=1,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        default_scope='mmengine',
        experiment_name=f'hostile_resume_{id(tmp_path)}')
    runner.train()
    good = tmp_path / 'work' / 'epoch_1.pth'
    ckpt = load_checkpoint_file(str(good))
    ckpt['meta']['config'] = python_payload(marker)
    hostile = tmp_path / 'hostile_resume.pth'
    torch.save(ckpt, hostile)
    runner.resume(str(hostile))
    assert runner.epoch == 1
    assert 'config' not in load_checkpoint_file(str(hostile))['meta']


@pytest.mark.parametrize('case', [
    'wrong-dtype', 'wrong-shape', 'non-finite', 'empty', 'truncated',
    'not-a-checkpoint'
])
def test_odd_checkpoints_stop_before_training(tmp_path, case):
    path = tmp_path / f'{case}.pth'
    state = resnet18_state()
    if case == 'wrong-dtype':
        state['backbone.conv1.weight'] = state['backbone.conv1.weight'].long()
        torch.save(dict(state_dict=state), path)
        error, words = TransferError, ['not floating point', 'conv1.weight']
    elif case == 'wrong-shape':
        state['backbone.conv1.weight'] = torch.zeros(64, 3, 3, 3)
        torch.save(dict(state_dict=state), path)
        error, words = TransferError, ['other shapes', 'conv1.weight']
    elif case == 'non-finite':
        state['backbone.layer2.0.conv1.weight'][0, 0, 0, 0] = float('nan')
        torch.save(dict(state_dict=state), path)
        error, words = CheckpointReadError, ['NaN or infinite', 'layer2.0']
    elif case == 'empty':
        path.write_bytes(b'')
        error, words = CheckpointReadError, ['empty']
    elif case == 'truncated':
        torch.save(dict(state_dict=state), path)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
        error, words = CheckpointReadError, ['truncated']
    else:
        path.write_text('model = dict(type="ResNet")\n')
        error, words = CheckpointReadError, ['cannot be read']
    with pytest.raises(error) as info:
        build_backbone(path).init_weights()
    for word in [path.name] + words:
        assert word in str(info.value), str(info.value)


@pytest.mark.slow
def test_fine_tune_from_hostile_checkpoints(tmp_path, marker):
    """tools/train.py on the demo detector: a pickle payload stops with a
    clear error; a payload in the meta's config text trains on the weights
    alone. Neither payload runs."""
    from ssdet.data.synthetic import generate
    data = str(tmp_path / 'data')
    generate(data, seed=0, num_unlabeled=0, num_train=4, num_val=2,
             num_test=0, size=(64, 96))
    from mmdet.models.backbones import ResNet
    weights = {
        'backbone.' + k: v
        for k, v in ResNet(
            depth=18, base_channels=32, stem_channels=32).state_dict().items()
    }
    pickled = tmp_path / 'pickled.pth'
    torch.save(dict(state_dict=weights, meta=dict(x=Payload(marker))),
               pickled)
    text = tmp_path / 'text.pth'
    torch.save(
        dict(state_dict=weights, meta=dict(cfg=python_payload(marker))), text)

    def train(ckpt):
        return subprocess.run([
            sys.executable, 'tools/train.py',
            'configs/demo/faster-rcnn_r18-w32_fpn_synthetic_swav.py',
            '--work-dir',
            str(tmp_path / ckpt.stem), '--cfg-options',
            f'model.backbone.init_cfg.checkpoint={ckpt}',
            f'train_dataloader.dataset.data_root={data}/',
            'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            'train_dataloader.batch_size=4', 'train_cfg.max_epochs=1',
            'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
            'default_hooks.checkpoint.save_best=None'
        ],
                              cwd=REPO_ROOT,
                              capture_output=True,
                              text=True,
                              timeout=600,
                              env=dict(os.environ, OMP_NUM_THREADS='1'))

    proc = train(pickled)
    assert proc.returncode != 0
    assert 'error:' in proc.stderr and 'pickled.pth' in proc.stderr
    assert 'Traceback (most recent call last)' not in proc.stderr
    proc = train(text)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert osp.isfile(tmp_path / 'text' / 'epoch_1.pth')


# ------------------------------------------------------------ label files
def test_yaml_python_tags_are_refused(tmp_path, marker):
    from ssdet.data.nyu import NYULabelError, read_label_file
    from ssdet.sweep.grid import GridError, load_grid
    tag = f"!!python/object/apply:os.system ['touch {marker}']"
    label = tmp_path / '1.yml'
    label.write_text(f'labels: [chair]\nbboxes: [[0, 0, 2, 2]]\nx: {tag}\n')
    with pytest.raises(NYULabelError, match='1.yml'):
        read_label_file(str(label))
    grid = tmp_path / 'grid.yaml'
    grid.write_text(f'name: g\nstages: {tag}\n')
    with pytest.raises(GridError, match='grid.yaml'):
        load_grid(str(grid))


def test_list_file_cannot_lead_out_of_the_data_root(tmp_path):
    from custom_modules.datasets import UnlabeledImageDataset as Dataset
    root = tmp_path / 'root'
    (root / 'sub').mkdir(parents=True)
    outside = tmp_path / 'secret.png'
    outside.write_bytes(b'not an image')
    (root / 'ok.png').write_bytes(b'x')
    (root / 'sub' / 'link.png').symlink_to(outside)
    cases = {
        'dotdot.txt': 'ok.png\n../secret.png\n',
        'absolute.txt': f'ok.png\n{outside}\n',
        'symlink.txt': 'ok.png\nsub/link.png\n',
    }
    for name, text in cases.items():
        (root / name).write_text(text)
        with pytest.raises(ValueError) as info:
            Dataset(data_root=str(root), ann_file=name)
        msg = str(info.value)
        assert f'{name}:2:' in msg and 'lead out of the image root' in msg
    # The user can say the images live elsewhere on purpose.
    ds = Dataset(
        data_root=str(root), ann_file='dotdot.txt', allow_outside_root=True)
    assert len(ds) == 2


def test_prediction_pickle_payload_is_refused(tmp_path, marker):
    from ssdet.analysis.detections import (PredictionFormatError,
                                           load_predictions)
    path = tmp_path / 'preds.pkl'
    with open(path, 'wb') as f:
        pickle.dump([dict(img_id=1, pred_instances=Payload(marker))], f)
    with pytest.raises(PredictionFormatError, match='preds.pkl'):
        load_predictions(str(path))


def test_json_tables_are_data(tmp_path, marker):
    from ssdet.tables import read_metrics
    path = tmp_path / 'metrics.json'
    path.write_text('{"metrics": {"coco/bbox_mAP": "__import__(\'os\')'
                    f'.system(\'touch {marker}\')"}}}}')
    assert read_metrics(str(path))['coco/bbox_mAP'].startswith('__import__')


def test_grid_values_are_never_templated_twice_or_given_to_a_shell(
        tmp_path, marker, load_tool, capsys, monkeypatch):
    """Values that try shell and template injection reach the command as
    literal arguments; a placeholder that reaches for attributes is a grid
    error naming the file."""
    monkeypatch.chdir(tmp_path)
    values = [f'a; touch {marker}', f'$(touch {marker})', f'`touch {marker}`']
    grid = dict(
        name='inject',
        work_root=str(tmp_path / 'work'),
        stages=[
            dict(
                name='echo',
                kind='command',
                axes=dict(v=dict(values={
                    f'x{i}': dict(vars=dict(text=v))
                    for i, v in enumerate(values)
                })),
                argv=[
                    sys.executable, '-c',
                    'import sys; open(sys.argv[1], "w").write(sys.argv[2])',
                    '{work_dir}/out.txt', '{text}'
                ],
                artifact='{work_dir}/out.txt')
        ])
    path = tmp_path / 'inject.yaml'
    path.write_text(yaml.safe_dump(grid))
    code = load_tool('sweep.py').main([str(path)])
    capsys.readouterr()
    assert code == 0
    written = sorted(
        (tmp_path / 'work' / 'inject' / 'echo' / f'v-x{i}' /
         'out.txt').read_text() for i in range(len(values)))
    assert written == sorted(values)
    for field, value in (('argv', ['{echo.__dict__}']),
                         ('axes', dict(v=['{work_dir.__class__}']))):
        stage = dict(grid['stages'][0], **{field: value})
        path.write_text(yaml.safe_dump(dict(grid, stages=[stage])))
        assert load_tool('sweep.py').main([str(path), '--dry-run']) == 2
        assert 'inject.yaml' in capsys.readouterr().err
