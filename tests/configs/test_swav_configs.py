"""Every SwAV config loads, builds its model and pipeline, and the main
recipe (r50_4gpu.py) holds the report's values."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmselfsup.registry import MODELS

CONFIG_DIR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'swav')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
TINY = 'swav_resnet18_1xb16-mcrop-2-4-coslr-3e_synthetic-64-32_64p.py'
NAME = re.compile(r'^swav_resnet(?P<depth>\d+)(-gn)?_(?P<gpus>\d+)xb'
                  r'(?P<batch>\d+)-mcrop-(?P<large>\d+)-(?P<small>\d+)-coslr-'
                  r'(?P<epochs>\d+)e(-q\d+|-qauto|-fp32)?_[a-z]+-\d+-\d+'
                  r'(-objcrop|-gpuaug)?_'
                  r'(?P<protos>\d+)p\.py$')


def _load(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name))


def _hook(cfg, type_):
    hooks = [h for h in cfg.custom_hooks if h['type'] == type_]
    assert len(hooks) == 1, f'{type_} in {cfg.filename}'
    return hooks[0]


def test_configs_found():
    names = {osp.basename(c) for c in CONFIGS}
    assert 'r50_4gpu.py' in names and TINY in names
    assert len(names) >= 10


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['custom_modules']
    assert cfg.default_scope == 'mmselfsup'
    assert not osp.isabs(cfg.train_dataloader.dataset.data_root)
    init_default_scope('mmselfsup')
    model = MODELS.build(cfg.model)
    depth = model.backbone.depth
    # The projection head follows the backbone: 512 (R18/34) or 2048 (R50).
    width = 512 if depth in (18, 34) else 2048
    assert cfg.model.neck.in_channels == cfg.model.neck.hid_channels == width
    assert model.head.loss.prototypes.in_features == 128
    # The pipeline builds and the crops are those the loss expects: made by
    # the pipeline, or on the model's device by its data preprocessor.
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    assert type(pipeline.transforms[0]).__name__ == 'LoadImageFromFileOrSkip'
    views = model.data_preprocessor if 'gpuaug' in path else \
        pipeline.transforms[1]
    assert list(views.num_views) == list(cfg.model.head.loss.num_crops)
    hook = _hook(cfg, 'SwAVQueueHook')
    assert hook['queue_length'] % (cfg.train_dataloader.batch_size) == 0
    for type_ in ('SwAVCollapseGuardHook', 'PretrainMetaHook',
                  'SkippedImagesReportHook'):
        _hook(cfg, type_)
    assert not any(h['type'] == 'SwAVHook' for h in cfg.custom_hooks)

    name = osp.basename(path)
    match = NAME.match(name)
    if name == 'r50_4gpu.py':
        return
    assert match, f'{name} does not follow configs/swav/README.md'
    assert int(match['depth']) == depth
    assert int(match['batch']) == cfg.train_dataloader.batch_size
    assert int(match['epochs']) == cfg.train_cfg.max_epochs
    assert int(match['protos']) == cfg.model.head.loss.num_prototypes
    assert [int(match['large']),
            int(match['small'])] == list(cfg.model.head.loss.num_crops)
    # The cosine schedule spans the whole run.
    (sched, ) = cfg.param_scheduler
    assert sched['T_max'] == sched['end'] == cfg.train_cfg.max_epochs


def test_table1_rows():
    rows = {
        'swav_resnet18_4xb64-mcrop-2-6-coslr-70e_unlabeled-224-96_1000p.py':
        (18, 70, 1000),
        'swav_resnet34_4xb64-mcrop-2-6-coslr-100e_unlabeled-224-96_3000p.py':
        (34, 100, 3000),
        'swav_resnet50_4xb64-mcrop-2-6-coslr-100e_unlabeled-224-96_2000p.py':
        (50, 100, 2000),
        'swav_resnet50_4xb64-mcrop-2-6-coslr-100e_unlabeled-224-96_3000p.py':
        (50, 100, 3000),
        'swav_resnet50_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-96_3000p.py':
        (50, 200, 3000),
    }
    for name, (depth, epochs, protos) in rows.items():
        cfg = _load(name)
        assert cfg.model.backbone.depth == depth
        assert cfg.train_cfg.max_epochs == epochs
        assert cfg.model.head.loss.num_prototypes == protos


def test_r50_4gpu_recipe():
    cfg = _load('r50_4gpu.py')
    loader = cfg.train_dataloader
    assert loader.batch_size == 64 and loader.num_workers == 2
    assert loader.dataset.type == 'UnlabeledImageDataset'
    assert loader.dataset.data_root == 'data/unlabeled/'
    assert 'ann_file' not in loader.dataset
    load, views, _ = loader.dataset.pipeline
    assert load.type == 'LoadImageFromFileOrSkip' and load.defer_jpeg
    assert views.type == 'DecodeOnceMultiView'
    assert views.num_views == [2, 6]
    (large, _), (small, _) = views.transforms
    assert (large.size, tuple(large.scale)) == (224, (0.14, 1.0))
    assert (small.size, tuple(small.scale)) == (96, (0.05, 0.14))
    loss = cfg.model.head.loss
    assert loss.num_prototypes == 3000 and loss.num_crops == [2, 6]
    hook = _hook(cfg, 'SwAVQueueHook')
    assert hook['epoch_queue_starts'] == 30
    assert hook['queue_length'] % 256 == 0 and hook['queue_length'] == 3840
    assert hook['frozen_layers_cfg'] == dict(prototypes=5005)
    assert hook.get('adaptive_loss_ratio') is None
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.optim_wrapper.optimizer.type == 'LARS'
    assert cfg.optim_wrapper.optimizer.lr == 0.6
    (sched, ) = cfg.param_scheduler
    assert sched.type == 'CosineAnnealingLR' and sched.T_max == 200
    assert cfg.train_cfg.max_epochs == 200
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    assert cfg.model.neck.norm_cfg.type == 'SyncBN'
    assert cfg.model.backbone.depth == 50
    assert _hook(cfg, 'SwAVCollapseGuardHook')['stop'] is True


def test_variants_change_only_their_part():
    main = _load('r50_4gpu.py')

    def views(cfg):
        (large,
         _), (small,
              _) = cfg.train_dataloader.dataset.pipeline[1]['transforms']
        return tuple(large.scale), tuple(small.scale)

    obj = _load('swav_resnet50_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-96-'
                'objcrop_3000p.py')
    assert views(obj) == ((0.4, 1.0), (0.2, 0.4))
    assert obj.model == main.model
    q15 = _load('swav_resnet50_4xb64-mcrop-2-6-coslr-200e-q15_unlabeled-224-'
                '96_3000p.py')
    assert _hook(q15, 'SwAVQueueHook')['epoch_queue_starts'] == 15
    assert views(q15) == views(main)
    auto = _load('swav_resnet50_4xb64-mcrop-2-6-coslr-200e-qauto_unlabeled-'
                 '224-96_3000p.py')
    assert _hook(auto, 'SwAVQueueHook')['adaptive_loss_ratio'] == 0.9
    gn = _load('swav_resnet50-gn_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-'
               '96_3000p.py')
    assert gn.model.backbone.norm_cfg.type == 'GN'
    assert gn.optim_wrapper == main.optim_wrapper


def test_fp32_variant_is_the_main_recipe_without_amp():
    """Fig. 1e: full precision, nothing else changed; the collapse guard
    logs the ln(K) plateau without ending the run."""
    main = _load('r50_4gpu.py')
    fp32 = _load('swav_resnet50_4xb64-mcrop-2-6-coslr-200e-fp32_unlabeled-'
                 '224-96_3000p.py')
    assert fp32.optim_wrapper.type == 'OptimWrapper'
    assert 'loss_scale' not in fp32.optim_wrapper
    assert fp32.optim_wrapper.optimizer == main.optim_wrapper.optimizer
    guard = _hook(fp32, 'SwAVCollapseGuardHook')
    assert guard['stop'] is False
    guard['stop'] = True
    assert fp32.custom_hooks == main.custom_hooks
    for cfg in (main, fp32):
        cfg.pop('optim_wrapper')
        cfg.pop('custom_hooks')
    assert fp32.to_dict() == main.to_dict()


def test_gpu_variant_makes_the_same_views_on_the_device():
    main = _load('r50_4gpu.py')
    gpu = _load('swav_resnet50_4xb64-mcrop-2-6-coslr-200e_unlabeled-224-96-'
                'gpuaug_3000p.py')
    views = main.train_dataloader.dataset.pipeline[1]
    preprocessor = gpu.model.data_preprocessor
    assert preprocessor.type == 'MultiViewGPUPreprocessor'
    assert preprocessor.num_views == views.num_views
    assert preprocessor.transforms == views.transforms
    for key in ('mean', 'std', 'bgr_to_rgb'):
        assert preprocessor[key] == main.model.data_preprocessor[key]
    assert [t.type for t in gpu.train_dataloader.dataset.pipeline] == [
        'LoadImageFromFileOrSkip', 'PackImageBytes'
    ]
    assert gpu.train_dataloader.dataset.pipeline[0].defer_jpeg
    assert gpu.train_dataloader.collate_fn.type == 'pseudo_collate'
    assert gpu.model.type == main.model.type


def test_tiny_cpu_config():
    cfg = _load(TINY)
    assert cfg.optim_wrapper.type == 'OptimWrapper'  # no AMP on the CPU
    assert cfg.model.backbone.norm_cfg.type == 'BN'
    assert cfg.model.neck.norm_cfg.type == 'BN1d'
    assert cfg.model.backbone.depth == 18
    assert cfg.train_dataloader.dataset.data_root == (
        'data/synthetic/unlabeled/')
    hook = _hook(cfg, 'SwAVQueueHook')
    # The queue starts (and fills) early enough to be exercised.
    assert hook['epoch_queue_starts'] < cfg.train_cfg.max_epochs - 1
    assert hook['adaptive_loss_ratio'] is not None
