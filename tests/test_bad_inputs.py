"""The bad-input corpus: each broken input, through the real tool.

Each case ends in an error that names the file (and line or key) and says
what to do, or, where a data set is expected to hold some junk (the
unlabeled pool), in a logged and counted skip. Nothing ends in a bare
traceback, and no input file is changed. Fixtures are written by the tests.
"""
import glob
import hashlib
import io
import json
import logging
import os
import os.path as osp
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TRAIN_PY = osp.join(REPO_ROOT, 'tools', 'train.py')


# ------------------------------------------------------------- helpers
def call_main(module, argv, capsys):
    """Run ``module.main(argv)``; any exception but SystemExit propagates
    (a bare traceback fails the test)."""
    try:
        code = module.main(argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    if isinstance(code, str):  # sys.exit('error: ...') prints to stderr
        err, code = err + code, 1
    return (0 if code is None or isinstance(code, dict) else code), out, err


def snapshot(root):
    """(mtime, sha1) of every file under ``root``."""
    state = {}
    for path in sorted(glob.glob(osp.join(root, '**'), recursive=True)):
        if osp.isfile(path):
            with open(path, 'rb') as f:
                digest = hashlib.sha1(f.read()).hexdigest()
            state[path] = (os.stat(path).st_mtime_ns, digest)
    return state


def png_bytes(mode='RGB', size=(64, 48)):
    w, h = size
    rng = np.random.RandomState(0)
    if mode == 'I;16':
        arr = rng.randint(0, 65535, (h, w)).astype(np.uint16)
        img = Image.fromarray(arr)
    elif mode == 'L':
        img = Image.fromarray(rng.randint(0, 255, (h, w)).astype(np.uint8))
    else:
        channels = 4 if mode == 'RGBA' else 3
        img = Image.fromarray(
            rng.randint(0, 255, (h, w, channels)).astype(np.uint8), mode)
    buf = io.BytesIO()
    img.save(buf, 'PNG')
    return buf.getvalue()


def jpeg_bytes(size=(64, 48)):
    buf = io.BytesIO()
    Image.fromarray(
        np.random.RandomState(1).randint(0, 255, (size[1], size[0], 3),
                                         ).astype(np.uint8)).save(buf, 'JPEG')
    return buf.getvalue()


BROKEN_IMAGES = {
    'corrupt': ('broken.png', b'\x89PNG\r\n\x1a\n' + b'\x00garbage' * 20),
    'truncated': ('cut.jpg', None),  # filled in below
    'zero-byte': ('empty.png', b''),
}


def broken_image(kind):
    name, data = BROKEN_IMAGES[kind]
    if kind == 'truncated':
        data = jpeg_bytes()[:300]
    return name, data


def train_py(args, cwd=REPO_ROOT, env_extra=None, timeout=300):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', **(env_extra or {})}
    proc = subprocess.run([sys.executable, TRAIN_PY, *args],
                          cwd=cwd,
                          capture_output=True,
                          text=True,
                          timeout=timeout,
                          env=env)
    return proc.returncode, proc.stdout, proc.stderr


def assert_clean_error(code, out, err, *names):
    text = out + err
    assert code not in (0, None), text[-3000:]
    assert 'Traceback (most recent call last)' not in err, err[-3000:]
    assert 'error:' in err, err[-3000:]
    for name in names:
        assert name in text, f'{name!r} not in:\n{text[-3000:]}'


# --------------------------------------------- unlabeled (SwAV) pipeline
def swav_config():
    found = sorted(
        glob.glob(
            osp.join(REPO_ROOT, 'configs', 'swav',
                     'swav_resnet18_1xb16-mcrop-2-4-coslr-*e_synthetic-*.py')))
    assert found, 'tiny SwAV config missing'
    return found[0]


def build_unlabeled(data_root, **dataset):
    from mmengine.registry import init_default_scope
    from mmselfsup.registry import DATASETS
    init_default_scope('mmselfsup')
    cfg = Config.fromfile(swav_config()).train_dataloader.dataset
    cfg.data_root = str(data_root)
    cfg.update(dataset)
    return DATASETS.build(cfg)


class _Records(logging.Handler):

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.mark.parametrize('kind', sorted(BROKEN_IMAGES))
def test_unlabeled_broken_image_is_a_logged_counted_skip(tmp_path, kind):
    from mmengine.logging import MMLogger

    from custom_modules.datasets import find_skipping_loaders

    # The warning goes to mmengine's current logger, whichever earlier test
    # created it (its stream may not be this test's stdout).
    records = _Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(records)
    root = tmp_path / 'pool'
    root.mkdir()
    for i in range(3):
        (root / f'good{i}.png').write_bytes(png_bytes())
    name, data = broken_image(kind)
    (root / name).write_bytes(data)
    before = snapshot(str(root))
    dataset = build_unlabeled(root)
    assert len(dataset) == 4  # listed, then skipped when loaded
    for i in range(len(dataset)):
        views = dataset[i]['inputs']
        assert len(views) == 6 and views[0].shape[0] == 3
    loaders = find_skipping_loaders(dataset)
    assert sum(loader.num_skipped for loader in loaders) >= 1
    logger.removeHandler(records)
    assert any(f'skipping unreadable image {root / name}' in m
               for m in records.messages), records.messages
    assert snapshot(str(root)) == before


@pytest.mark.parametrize('mode', ['L', 'I;16', 'RGBA'])
def test_unlabeled_odd_modes_load_as_3_channel_uint8(tmp_path, mode):
    root = tmp_path / 'pool'
    root.mkdir()
    (root / 'odd.png').write_bytes(png_bytes(mode))
    dataset = build_unlabeled(root)
    loader = dataset.pipeline.transforms[0]
    results = loader(dict(img_path=str(root / 'odd.png')))
    assert results['img'].shape == (48, 64, 3)
    assert results['img'].dtype == np.uint8
    assert loader.num_skipped == 0
    views = dataset[0]['inputs']
    assert all(v.shape[0] == 3 for v in views)


@pytest.mark.parametrize('mode', ['L', 'I;16', 'RGBA'])
def test_detection_loader_odd_modes_load_as_3_channel_uint8(tmp_path, mode):
    """mmdet's LoadImageFromFile (color_type='color', cv2 IMREAD_COLOR), as
    the demo config builds it."""
    from mmdet.registry import TRANSFORMS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'demo',
                 'faster-rcnn_r18_fpn_synthetic.py'))
    load = TRANSFORMS.build(cfg.train_pipeline[0])
    path = tmp_path / 'odd.png'
    path.write_bytes(png_bytes(mode))
    img = load(dict(img_path=str(path)))['img']
    assert img.shape == (48, 64, 3) and img.dtype == np.uint8


def test_unlabeled_list_names_missing_files(tmp_path):
    root = tmp_path / 'pool'
    root.mkdir()
    (root / 'a.png').write_bytes(png_bytes())
    (root / 'list.txt').write_text('a.png\nmissing.png\n')
    with pytest.raises(FileNotFoundError) as info:
        build_unlabeled(root, ann_file='list.txt')
    assert 'list.txt:2' in str(info.value)
    assert 'missing.png' in str(info.value)


@pytest.mark.slow
def test_train_py_missing_listed_image(tmp_path):
    root = tmp_path / 'pool'
    root.mkdir()
    (root / 'a.png').write_bytes(png_bytes())
    (root / 'list.txt').write_text('a.png\nmissing.png\n')
    before = snapshot(str(root))
    code, out, err = train_py([
        swav_config(), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.ann_file=list.txt',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False'
    ])
    assert_clean_error(code, out, err, 'list.txt:2', 'missing.png')
    assert snapshot(str(root)) == before


# ------------------------------------------------- COCO (detection) data
def coco_set(tmp_path):
    root = tmp_path / 'coco'
    (root / 'images' / 'train').mkdir(parents=True)
    for name in ('a', 'b'):
        (root / 'images' / 'train' / f'{name}.png').write_bytes(png_bytes())
    data = {
        'images': [
            dict(id=1, file_name='train/a.png', width=64, height=48),
            dict(id=2, file_name='train/b.png', width=64, height=48)
        ],
        'annotations': [
            dict(id=1, image_id=1, category_id=1, bbox=[2, 3, 20, 10],
                 area=200, iscrowd=0),
            dict(id=2, image_id=2, category_id=1, bbox=[10, 10, 30, 30],
                 area=900, iscrowd=0)
        ],
        'categories': [dict(id=1, name='car')]
    }
    return root, data


COCO_CASES = {
    'duplicate image id':
    (lambda d, r: d['images'][1].update(id=1), 'images[1] (id 1)'),
    'duplicate annotation id':
    (lambda d, r: d['annotations'][1].update(id=1), 'annotations[1] (id 1)'),
    'box outside image': (lambda d, r: d['annotations'][1].update(
        bbox=[50, 10, 30, 30]), 'annotations[1] (id 2)'),
    'missing image': (lambda d, r: os.remove(r / 'images' / 'train' /
                                             'b.png'), 'train/b.png'),
    'corrupt image': (lambda d, r: (r / 'images' / 'train' / 'b.png').
                      write_bytes(broken_image('corrupt')[1]), 'train/b.png'),
    'truncated image': (lambda d, r: (r / 'images' / 'train' / 'b.png').
                        write_bytes(broken_image('truncated')[1]),
                        'train/b.png'),
    'zero-byte image': (lambda d, r: (r / 'images' / 'train' / 'b.png').
                        write_bytes(b''), 'train/b.png'),
}


@pytest.mark.parametrize('case', sorted(COCO_CASES))
def test_coco_check_dataset(load_tool, tmp_path, capsys, case):
    tool = load_tool('analysis', 'check_dataset.py')
    root, data = coco_set(tmp_path)
    change, where = COCO_CASES[case]
    change(data, root)
    ann = root / 'train.json'
    ann.write_text(json.dumps(data))
    before = snapshot(str(root))
    code, out, err = call_main(
        tool, [str(ann), '--img-root',
               str(root / 'images')], capsys)
    assert_clean_error(code, out, err, str(ann), where)
    assert snapshot(str(root)) == before


def test_coco_truncated_json_names_line(load_tool, tmp_path, capsys):
    tool = load_tool('analysis', 'check_dataset.py')
    _, data = coco_set(tmp_path)
    ann = tmp_path / 'cut.json'
    ann.write_text(json.dumps(data, indent=1)[:150])
    code, out, err = call_main(tool, [str(ann)], capsys)
    assert_clean_error(code, out, err, f'{ann}:', 'not valid JSON')


# ------------------------------------------------------------ KITTI labels
GOOD_KITTI = ('Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 '
              '-0.65 1.71 46.70 -1.59')

KITTI_CASES = {
    'wrong field count': ('Car 0.00 0 -1.58 587.01 173.33 614.12',
                          'expected 15 fields'),
    'non-numeric field': (GOOD_KITTI.replace('587.01', 'abc'),
                          'non-numeric field'),
    'x2 <= x1': (GOOD_KITTI.replace('614.12', '500.00'), 'x2'),
    'unknown class': (GOOD_KITTI.replace('Car', 'Spaceship'),
                      "unknown class 'Spaceship'"),
}


def kitti_root(tmp_path, second_line):
    root = tmp_path / 'kitti'
    for sub in ('label_2', 'image_2'):
        (root / 'training' / sub).mkdir(parents=True)
    for i, text in enumerate([GOOD_KITTI + '\n', f'{GOOD_KITTI}\n'
                              f'{second_line}\n']):
        (root / 'training' / 'label_2' / f'{i:06d}.txt').write_text(text)
        Image.new('RGB', (1242, 375)).save(root / 'training' / 'image_2' /
                                           f'{i:06d}.png')
    return root


@pytest.mark.parametrize('case', sorted(KITTI_CASES))
def test_kitti_bad_line(load_tool, tmp_path, capsys, case):
    tool = load_tool('dataset_converters', 'kitti2coco.py')
    line, reason = KITTI_CASES[case]
    root = kitti_root(tmp_path, line)
    before = snapshot(str(root))
    code, out, err = call_main(
        tool, [str(root), '--out', str(tmp_path / 'ann')], capsys)
    assert_clean_error(code, out, err, 'label_2/000001.txt:2', reason,
                       '--skip-bad')
    assert not (tmp_path / 'ann' / 'train.json').exists()
    assert snapshot(str(root)) == before


def test_kitti_skip_bad_counts_the_skip(load_tool, tmp_path, capsys):
    tool = load_tool('dataset_converters', 'kitti2coco.py')
    root = kitti_root(tmp_path, KITTI_CASES['non-numeric field'][0])
    summary = tool.main([
        str(root), '--out',
        str(tmp_path / 'ann'), '--skip-bad', '--val-ratio', '0'
    ])
    out, err = capsys.readouterr()
    assert 'Traceback' not in err
    assert 'skipped malformed lines: 1' in out
    assert '000001.txt:2: non-numeric field' in out
    assert [b.line_no for b in summary['bad_lines']] == [2]
    assert summary['splits']['train']['boxes']['Car'] == 2


def test_kitti_empty_label_file_is_an_image_without_objects(
        load_tool, tmp_path, capsys):
    tool = load_tool('dataset_converters', 'kitti2coco.py')
    root = kitti_root(tmp_path, GOOD_KITTI)
    (root / 'training' / 'label_2' / '000001.txt').write_text('')
    code, out, err = call_main(
        tool, [str(root), '--out',
               str(tmp_path / 'ann'), '--val-ratio', '0'], capsys)
    assert code == 0, err
    with open(tmp_path / 'ann' / 'train.json') as f:
        coco = json.load(f)
    assert len(coco['images']) == 2
    assert {a['image_id'] for a in coco['annotations']} == {0}


# ------------------------------------------------------------- NYU YAML
def test_nyu_labels_and_bboxes_of_different_lengths(load_tool, tmp_path,
                                                    capsys):
    tool = load_tool('dataset_converters', 'nyu2coco.py')
    root = tmp_path / 'labeled_data'
    for sub in ('images', 'labels'):
        (root / 'training' / sub).mkdir(parents=True)
    Image.new('RGB', (64, 48)).save(root / 'training' / 'images' / '1.JPEG',
                                    'JPEG')
    (root / 'training' / 'labels' / '1.yml').write_text(
        'bboxes:\n- [2, 3, 30, 40]\n- [10, 0, 64, 48]\n'
        'labels:\n- bagel\n')
    before = snapshot(str(root))
    code, out, err = call_main(
        tool, [str(root), '--out', str(tmp_path / 'ann')], capsys)
    assert_clean_error(code, out, err, '1.yml')
    assert snapshot(str(root)) == before


# ------------------------------------------------------------- nuImages
def test_nuimages_root_missing_a_table(load_tool, tmp_path, capsys):
    from ssdet.data.nuimages import make_fake_tables
    tool = load_tool('dataset_converters', 'nuimages2list.py')
    root = tmp_path / 'nuimages'
    make_fake_tables(str(root), 4, write_images=True)
    table = glob.glob(str(root / '*' / 'calibrated_sensor.json'))
    assert table, 'fixture layout changed'
    os.remove(table[0])
    before = snapshot(str(root))
    code, out, err = call_main(
        tool, [str(root), '--out', str(tmp_path / 'train.txt')], capsys)
    assert_clean_error(code, out, err, 'calibrated_sensor.json')
    assert not (tmp_path / 'train.txt').exists()
    assert snapshot(str(root)) == before


# ------------------------------------------------------------- checkpoints
def foreign_checkpoint(path):
    torch.save({'model': {'encoder.fc.weight': torch.zeros(2, 2)}}, path)


def test_convert_checkpoint_whose_keys_match_nothing(load_tool, tmp_path,
                                                     capsys):
    tool = load_tool('model_converters', 'convert.py')
    src = tmp_path / 'foreign.pth'
    foreign_checkpoint(src)
    before = snapshot(str(tmp_path))
    code, out, err = call_main(tool, [str(src), str(tmp_path / 'out.pth')],
                               capsys)
    assert_clean_error(code, out, err, 'foreign.pth')
    assert snapshot(str(tmp_path)) == before


def test_verified_pretrained_keys_match_nothing(tmp_path):
    """The initializer alone: TransferError naming file and prefixes."""
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    from custom_modules.transfer import TransferError
    init_default_scope('mmdet')
    src = str(tmp_path / 'foreign.pth')
    foreign_checkpoint(src)
    backbone = MODELS.build(
        dict(
            type='ResNet',
            depth=18,
            init_cfg=dict(type='VerifiedPretrained', checkpoint=src,
                          prefix='backbone.')))
    with pytest.raises(TransferError) as info:
        backbone.init_weights()
    assert src in str(info.value) and 'backbone.' in str(info.value)


@pytest.fixture(scope='module')
def tiny_coco(synthetic_set):
    return synthetic_set('bad_inputs_synthetic', num_unlabeled=0,
                         num_train=4, num_val=2, num_test=0, size=(64, 96))


@pytest.mark.slow
def test_train_py_verified_pretrained_keys_match_nothing(tmp_path, tiny_coco):
    src = str(tmp_path / 'foreign.pth')
    foreign_checkpoint(src)
    code, out, err = train_py([
        osp.join('configs', 'demo', 'faster-rcnn_r18_fpn_synthetic_swav.py'),
        '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'train_dataloader.dataset.data_root={tiny_coco}/',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        f'model.backbone.init_cfg.checkpoint={src}'
    ])
    assert_clean_error(code, out, err, 'foreign.pth', 'backbone.')


# ------------------------------------------------------------- configs
@pytest.mark.slow
def test_train_py_cfg_options_typo(tmp_path):
    code, out, err = train_py([
        osp.join('configs', 'demo', 'faster-rcnn_r18_fpn_synthetic.py'),
        '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', 'train_cfg.max_epoch=2'
    ])
    assert_clean_error(code, out, err, 'train_cfg.max_epoch',
                       'did you mean "train_cfg.max_epochs"')
    assert not (tmp_path / 'work').exists()


# ------------------------------------------------------------- NaN loss
NAN_TOY = '''
import torch
from mmengine.dataset import BaseDataset
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, MODELS


@MODELS.register_module()
class NaNToy(BaseModel):

    def __init__(self, nan_step=6):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)
        self.nan_step = nan_step
        self.steps = 0

    def forward(self, x, mode='loss', **kwargs):
        self.steps += 1
        loss = self.fc(torch.stack(x)).pow(2).mean()
        if self.steps >= self.nan_step:
            loss = loss * float('nan')
        return dict(loss_cls=loss)


@DATASETS.register_module()
class ToyPoints(BaseDataset):

    def __init__(self, num=8, **kwargs):
        self.num = num
        super().__init__(serialize_data=False, **kwargs)

    def load_data_list(self):
        g = torch.Generator().manual_seed(0)
        return [dict(x=torch.rand(2, generator=g)) for _ in range(self.num)]
'''

NAN_CONFIG = '''
custom_imports = dict(imports=['nan_toy', 'custom_modules'],
                      allow_failed_imports=False)
model = dict(type='NaNToy', nan_step=6)
train_dataloader = dict(
    dataset=dict(type='ToyPoints', num=8), batch_size=2, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False))
train_cfg = dict(by_epoch=True, max_epochs=3)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
    logger=dict(type='LoggerHook', interval=1))
custom_hooks = [dict(type='NonFiniteLossHook')]
'''


@pytest.mark.slow
def test_train_py_nan_loss(tmp_path):
    (tmp_path / 'nan_toy.py').write_text(textwrap.dedent(NAN_TOY))
    config = tmp_path / 'nan_toy_config.py'
    config.write_text(NAN_CONFIG)
    work = tmp_path / 'work'
    code, out, err = train_py(
        [str(config), '--work-dir', str(work)],
        env_extra={
            'PYTHONPATH':
            os.pathsep.join([str(tmp_path), REPO_ROOT,
                             os.environ.get('PYTHONPATH', '')])
        })
    assert_clean_error(code, out, err, 'iteration 6 (epoch 2, batch 2)',
                       'loss_cls=nan', f'--resume {work}/iter_4.pth')
    assert (work / 'last_checkpoint').read_text() == f'{work}/iter_4.pth'
    assert not (work / 'iter_6.pth').exists()
