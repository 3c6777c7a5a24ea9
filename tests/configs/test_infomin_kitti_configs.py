"""The InfoMin retraining and KITTI detection configs load, build under
their scope, and carry the recipe values of the report (and its code)."""
import glob
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmselfsup.models.algorithms import MoCo
from torch.nn.modules.batchnorm import _BatchNorm

from custom_modules.transfer import TransferError
from ssdet.checkpoints import convert

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
INFOMIN = osp.join(REPO, 'configs', 'infomin')
KITTI = osp.join(REPO, 'configs', 'kitti')
R50_INFOMIN = osp.join(
    INFOMIN, 'mocov2_resnet50_infomin-init_1xb32-coslr-100e_nuimages.py')
TINY_INFOMIN = osp.join(INFOMIN, 'mocov2_resnet18_1xb16-coslr-2e_synthetic.py')
KITTI_REPORT = osp.join(KITTI, 'faster-rcnn_r50_fpn_20e_kitti.py')
KITTI_CODE = osp.join(KITTI, 'faster-rcnn_r50_fpn_20e-code_kitti.py')
KITTI_BGR_BUG = osp.join(KITTI,
                         'faster-rcnn_r50_fpn_20e-code-bgr-bug_kitti.py')
KITTI_SCRATCH = osp.join(KITTI, 'faster-rcnn_r50_fpn_scratch_20e_kitti.py')
KITTI_TINY = osp.join(KITTI, 'faster-rcnn_r18_fpn_1e_kitti-tiny.py')
#: The retraining-size configs and the lists they read (docs/nuimages.md):
#: subsets of the train list, and the report's "~90k", every key frame of the
#: three splits.
SUBSETS = {
    '5k': 'train_5000.txt',
    '18k': 'train_18000.txt',
    '35k': 'train_35000.txt',
    '90k': 'all.txt'
}

#: PyContrast's RandAugment op list (``_RAND_TRANSFORMS``) in mmcls names.
PYCONTRAST_RANDAUG = [
    'AutoContrast', 'Equalize', 'Invert', 'Rotate', 'Posterize', 'Solarize',
    'SolarizeAdd', 'ColorTransform', 'Contrast', 'Brightness', 'Sharpness',
    'Shear', 'Shear', 'Translate', 'Translate'
]


def infomin_configs():
    return sorted(glob.glob(osp.join(INFOMIN, '*.py')))


def kitti_configs():
    return sorted(glob.glob(osp.join(KITTI, '*.py')))


def build_selfsup(cfg):
    from mmselfsup.registry import MODELS
    init_default_scope('mmselfsup')
    return MODELS.build(cfg.model)


def build_det(cfg):
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    return MODELS.build(cfg.model)


def view_pipeline(cfg):
    """The per-view transforms inside the DecodeOnceMultiView of the train
    set."""
    multiview = cfg.train_dataloader.dataset.pipeline[1]
    assert multiview['type'] == 'DecodeOnceMultiView'
    assert multiview['num_views'] == 2
    return multiview['transforms'][0]


def test_all_expected_configs_exist():
    names = {osp.basename(p) for p in infomin_configs() + kitti_configs()}
    expected = {
        osp.basename(p)
        for p in (R50_INFOMIN, TINY_INFOMIN, KITTI_REPORT, KITTI_CODE,
                  KITTI_BGR_BUG, KITTI_SCRATCH, KITTI_TINY)
    }
    expected |= {
        f'mocov2_resnet50_infomin-init_1xb32-coslr-100e_nuimages-{k}.py'
        for k in SUBSETS
    }
    assert expected <= names


# --------------------------------------------------------------------------
# InfoMin retraining (mmselfsup)
# --------------------------------------------------------------------------


@pytest.mark.parametrize('path', infomin_configs(), ids=osp.basename)
def test_infomin_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['custom_modules']
    assert cfg.default_scope == 'mmselfsup'
    assert cfg.load_from is None and not cfg.resume  # given on the CLI
    # mmengine passes collate_fn keys as arguments: no `_scope_` allowed
    assert dict(
        cfg.train_dataloader.collate_fn) == dict(type='default_collate')
    model = build_selfsup(cfg)
    assert isinstance(model, MoCo)  # or InfoMinJigsawMoCo, a subclass
    assert model.queue.shape == (128, cfg.model.queue_len)
    assert cfg.model.queue_len % cfg.train_dataloader.batch_size == 0


def test_infomin_recipe_values():
    cfg = Config.fromfile(R50_INFOMIN)
    model = build_selfsup(cfg)
    # MoCo takes the momentum of the key encoder as written (0.999) and
    # gives mmengine's ExponentialMovingAverage the weight of the *new*
    # value: ema = (1 - 0.001) * ema + 0.001 * online.
    assert cfg.model.momentum == 0.999
    assert math.isclose(model.encoder_k.momentum, 0.001, abs_tol=1e-12)
    assert cfg.model.queue_len == 65536 and model.queue_len == 65536
    assert cfg.model.feat_dim == 128
    assert model.backbone.depth == 50
    mlp = model.neck.mlp
    assert (mlp[0].in_features, mlp[0].out_features) == (2048, 2048)
    assert (mlp[2].in_features, mlp[2].out_features) == (2048, 128)
    assert model.head.temperature == 0.15

    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum) == ('SGD', 0.003, 0.9)
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.train_cfg.max_epochs == 100
    (sched, ) = cfg.param_scheduler
    assert sched.type == 'CosineAnnealingLR'
    assert sched.T_max == sched.end == 100 and sched.by_epoch
    assert math.isclose(sched.eta_min, 0.003 * 1e-3)  # PyContrast's floor
    ckpt = cfg.default_hooks.checkpoint
    assert ckpt.interval == 20 and ckpt.max_keep_ckpts == -1

    data = cfg.train_dataloader.dataset
    assert data.type == 'UnlabeledImageDataset'
    assert (data.data_root, data.ann_file) == ('data/nuimages/', 'train.txt')


def test_infomin_augmentation():
    cfg = Config.fromfile(R50_INFOMIN)
    views = view_pipeline(cfg)
    types = [t['type'] for t in views]
    assert types == [
        'RandomResizedCrop', 'RandomFlipU8', 'RandomApply',
        'RandomGaussianBlurU8', 'mmcls.RandAugment', 'RandomGrayscaleU8'
    ]
    crop, flip, jitter, blur, randaug, gray = views
    assert crop['size'] == 224 and tuple(crop['scale']) == (0.2, 1.)
    assert flip['prob'] == 0.5
    assert jitter['prob'] == 0.8
    (cj, ) = jitter['transforms']
    assert (cj['type'], cj['brightness'], cj['contrast'], cj['saturation'],
            cj['hue']) == ('ColorJitterU8', 0.8, 0.8, 0.8, 0.2)
    assert blur['prob'] == 0.5
    assert (randaug['num_policies'], randaug['magnitude_level'],
            randaug['magnitude_std'], randaug['total_level']) == (2, 10, 0.5,
                                                                  10)
    assert [p['type'].split('.')[-1]
            for p in randaug['policies']] == PYCONTRAST_RANDAUG
    assert gray['prob'] == 0.2


def test_infomin_pipeline_runs_in_mmselfsup_scope(selfsup_train_dataset):
    """The recipe's whole train pipeline, RandAugment (mmcls) included, on
    files."""
    dataset = selfsup_train_dataset(R50_INFOMIN, 3)
    assert len(dataset) == 3
    randaug = dataset.pipeline.transforms[1].pipelines[0].transforms[4]
    assert type(randaug).__name__ == 'RandAugment'
    assert len(randaug.transforms) == len(PYCONTRAST_RANDAUG)
    np.random.seed(0)
    for i in range(6):
        out = dataset[i % 3]
        assert len(out['inputs']) == 2
        assert out['inputs'][0].shape == (3, 224, 224)
        assert out['inputs'][0].dtype == torch.uint8


def test_tiny_infomin_config_is_small():
    cfg = Config.fromfile(TINY_INFOMIN)
    assert cfg.model.backbone.depth == 18
    assert cfg.model.queue_len == 256
    assert cfg.train_dataloader.batch_size == 16
    assert view_pipeline(cfg)[0]['size'] == 32
    assert cfg.train_dataloader.dataset.data_root == (
        'data/synthetic/unlabeled/')
    assert cfg.train_dataloader.dataset.ann_file == ''
    assert cfg.train_cfg.max_epochs == 2
    # lighter augmentation (no blur, no RandAugment), a faster key encoder
    # and its own lr, so that a few hundred iterations lower the loss
    assert [t['type'] for t in view_pipeline(cfg)] == [
        'RandomResizedCrop', 'RandomFlipU8', 'RandomApply', 'RandomGrayscaleU8'
    ]
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg.model.momentum == 0.99
    assert cfg.model.head.temperature == 0.15
    assert cfg.custom_hooks[0]['type'] == 'RequireLoadFromHook'
    assert cfg.model.feat_dim == 128


@pytest.mark.parametrize('name,ann_file', SUBSETS.items())
def test_infomin_subset_variant(name, ann_file):
    base = Config.fromfile(R50_INFOMIN)
    cfg = Config.fromfile(
        osp.join(
            INFOMIN, 'mocov2_resnet50_infomin-init_1xb32-coslr-100e_'
            f'nuimages-{name}.py'))
    assert cfg.train_dataloader.dataset.ann_file == ann_file
    # nothing else differs
    cfg.train_dataloader.dataset.ann_file = 'train.txt'
    assert cfg.to_dict() == base.to_dict()


def fake_pycontrast_r18(path, memory_size):
    """A PyContrast InfoMin trainer file (ResNet-18, mlp head, jigsaw head,
    EMA encoder, MoCo memory) with the real key layout."""
    import torchvision
    torch.manual_seed(0)
    trunk = torchvision.models.resnet18().state_dict()
    trunk.pop('fc.weight')
    trunk.pop('fc.bias')
    head = {
        'mlp.0.weight': torch.randn(512, 512),
        'mlp.0.bias': torch.randn(512),
        'mlp.2.weight': torch.randn(128, 512),
        'mlp.2.bias': torch.randn(128)
    }
    model = {f'module.encoder.{k}': v for k, v in trunk.items()}
    model.update({f'module.head.{k}': v for k, v in head.items()})
    model['module.head_jig.fc1.weight'] = torch.randn(8, 8)
    ema = {f'encoder.{k}': v + 1 for k, v in trunk.items()}
    ema.update({f'head.{k}': v + 1 for k, v in head.items()})
    memory = torch.nn.functional.normalize(
        torch.randn(memory_size, 128), dim=1)
    torch.save(
        dict(
            model=model,
            model_ema=ema,
            contrast=dict(memory=memory),
            epoch=800), path)
    return model, ema, memory


def load_like_the_runner(model, filename):
    """What ``Runner.load_checkpoint`` does for ``load_from`` (resume=False):
    the model's state dict only, strict=False."""
    from mmengine.runner.checkpoint import load_checkpoint
    load_checkpoint(
        model,
        filename,
        map_location='cpu',
        strict=False,
        revise_keys=[(r'^module.', '')])


def tiny_moco():
    model = build_selfsup(Config.fromfile(TINY_INFOMIN))
    return model, model.queue.clone()


def test_load_from_torchvision_weights_gives_fresh_queue(tmp_path):
    import torchvision
    torch.manual_seed(0)
    trunk = torchvision.models.resnet18().state_dict()
    torch.save(trunk, tmp_path / 'tv.pth')
    convert(
        str(tmp_path / 'tv.pth'),
        str(tmp_path / 'moco.pth'),
        src_format='torchvision',
        target='mmselfsup-moco')
    model, queue = tiny_moco()
    load_like_the_runner(model, str(tmp_path / 'moco.pth'))
    assert torch.equal(model.queue, queue) and int(model.queue_ptr) == 0
    assert int(model.encoder_k.steps) == 0  # copies online at step 1
    assert torch.equal(model.backbone.layer1[0].conv1.weight,
                       trunk['layer1.0.conv1.weight'])


def test_load_from_pycontrast_weights_gives_fresh_queue(tmp_path):
    src, dst = str(tmp_path / 'infomin.pth'), str(tmp_path / 'moco.pth')
    model_src, ema_src, _ = fake_pycontrast_r18(src, memory_size=256)
    convert(src, dst, src_format='pycontrast', target='mmselfsup-moco')
    model, queue = tiny_moco()
    load_like_the_runner(model, dst)
    # both encoders and heads come from the file ...
    assert torch.equal(model.neck.mlp[0].weight,
                       model_src['module.head.mlp.0.weight'])
    assert torch.equal(model.encoder_k.module[0].conv1.weight,
                       ema_src['encoder.conv1.weight'])
    assert int(model.encoder_k.steps) == 1  # blended, not overwritten
    # ... the queue does not
    assert torch.equal(model.queue, queue) and int(model.queue_ptr) == 0


# --------------------------------------------------------------------------
# KITTI detection (mmdet)
# --------------------------------------------------------------------------


@pytest.fixture(scope='module')
def r50_mmdet(tmp_path_factory):
    """A torchvision ResNet-50 (random init) converted for mmdet, and its
    source state dict."""
    import torchvision
    tmp = tmp_path_factory.mktemp('r50')
    torch.manual_seed(0)
    state = torchvision.models.resnet50().state_dict()
    src = str(tmp / 'r50_torchvision.pth')
    torch.save(state, src)
    dst = str(tmp / 'r50_mmdet.pth')
    convert(src, dst, src_format='torchvision', target='mmdet')
    return dst, state


@pytest.mark.parametrize('path', kitti_configs(), ids=osp.basename)
def test_kitti_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['custom_modules']
    model = build_det(cfg)
    assert model.roi_head.bbox_head.num_classes == 7
    assert len(cfg.train_dataloader.dataset.metainfo['classes']) == 7
    # COCO AP and the KITTI tables, side by side
    assert [m.type for m in cfg.val_evaluator] == ['CocoMetric', 'KittiMetric']
    assert cfg.train_cfg.max_epochs == (1 if 'tiny' in path else 20)


def test_kitti_report_recipe():
    cfg = Config.fromfile(KITTI_REPORT)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.01,
                                                                  0.9, 5e-4)
    assert cfg.train_dataloader.batch_size == 6
    assert cfg.train_cfg.max_epochs == 20
    (step, ) = cfg.param_scheduler  # no warmup in the report
    assert (step.type, step.milestones, step.gamma) == ('MultiStepLR', [12],
                                                        0.1)
    assert step.by_epoch and step.end == 20
    backbone = cfg.model.backbone
    assert backbone.norm_cfg == dict(type='BN', requires_grad=False)
    assert backbone.norm_eval is True
    # every stage trained: the report's Fig. 1b best, its code's FREEZE_AT 0
    assert backbone.frozen_stages == -1
    assert backbone.init_cfg.type == 'VerifiedPretrained'
    assert backbone.init_cfg.checkpoint is None
    assert dict(
        type='TransferCheckHook', on_mismatch='error') in cfg.custom_hooks


def resize_of(pipeline):
    (resize, ) = [t for t in pipeline if t['type'] == 'Resize']
    return resize


def test_kitti_code_recipe_differs_in_schedule_and_size():
    report, code = Config.fromfile(KITTI_REPORT), Config.fromfile(KITTI_CODE)
    warmup, step = code.param_scheduler
    assert (warmup.type, warmup.by_epoch, warmup.begin,
            warmup.end) == ('LinearLR', False, 0, 1000)
    assert (step.type, step.milestones, step.gamma,
            step.end) == ('MultiStepLR', [12, 16], 0.1, 20)
    assert code.optim_wrapper.optimizer.weight_decay == 1e-4
    assert code.optim_wrapper.optimizer.lr == 0.01
    assert code.model.backbone.frozen_stages == -1  # FREEZE_AT: 0
    assert code.model.data_preprocessor.bgr_to_rgb is True  # no bug here
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert resize_of(code[loader].dataset.pipeline)['scale'] == (1333,
                                                                     800)
        assert resize_of(report[loader].dataset.pipeline)['scale'] == (1242,
                                                                       375)
    for cfg in (report, code):
        cfg.pop('param_scheduler')
        cfg.optim_wrapper.optimizer.pop('weight_decay')
        for key in ('train_pipeline', 'test_pipeline', 'train_dataloader',
                    'val_dataloader', 'test_dataloader'):
            cfg.pop(key)
    code.pop('detectron2_scale')
    assert code.to_dict() == report.to_dict()


@pytest.mark.parametrize('width,height,expected', [
    (1242, 375, (1333, 402)),  # the common KITTI size
    (1224, 370, (1333, 403)),
])
def test_kitti_code_resize_is_detectron2s(width, height, expected):
    """detectron2's ResizeShortestEdge(800 or 640-800, max 1333) on a KITTI
    image: the max-size cap decides, as mmdet's Resize to (1333, 800)."""
    from mmdet.datasets.transforms import Resize

    def detectron2(h, w, short, max_size=1333):
        # ResizeShortestEdge.get_output_shape (detectron2), written out
        scale = short / min(h, w)
        newh, neww = (short, scale * w) if h < w else (scale * h, short)
        if max(newh, neww) > max_size:
            scale = max_size / max(newh, neww)
            newh, neww = newh * scale, neww * scale
        return int(neww + 0.5), int(newh + 0.5)

    for short in (640, 672, 704, 736, 768, 800):
        assert detectron2(height, width, short) == expected
    pipeline = Config.fromfile(KITTI_CODE).train_dataloader.dataset.pipeline
    resize = Resize(**{k: v for k, v in resize_of(pipeline).items()
                       if k not in ('type', '_scope_')})
    out = resize(dict(img=np.zeros((height, width, 3), np.uint8)))
    assert out['img_shape'] == expected[::-1]
    # the report states the images kept at their size
    pipeline = Config.fromfile(KITTI_REPORT).train_dataloader.dataset.pipeline
    resize = Resize(**{k: v for k, v in resize_of(pipeline).items()
                       if k not in ('type', '_scope_')})
    out = resize(dict(img=np.zeros((375, 1242, 3), np.uint8)))
    assert out['img_shape'] == (375, 1242)


def test_kitti_bgr_bug_is_the_code_with_swapped_channels():
    from custom_modules.conventions import PretrainConventions
    code, bug = Config.fromfile(KITTI_CODE), Config.fromfile(KITTI_BGR_BUG)
    assert bug.model.data_preprocessor.bgr_to_rgb is False
    assert bug.model.data_preprocessor.mean == [123.675, 116.28, 103.53]
    assert dict(type='TransferCheckHook',
                on_mismatch='warn') in bug.custom_hooks
    # an RGB-pretrained backbone sees BGR with RGB statistics: the transfer
    # check names it (as a warning here)
    rgb = PretrainConventions.from_cfg(code.model.data_preprocessor)
    problems = rgb.compare(
        PretrainConventions.from_cfg(bug.model.data_preprocessor))
    assert len(problems) == 1 and problems[0].startswith('channel order')
    bug.model.data_preprocessor.bgr_to_rgb = True
    bug.custom_hooks = code.custom_hooks
    assert bug.to_dict() == code.to_dict()


def test_kitti_requires_a_checkpoint():
    model = build_det(Config.fromfile(KITTI_REPORT))
    with pytest.raises(TransferError, match='init_cfg.checkpoint=PATH'):
        model.init_weights()


def test_kitti_scratch_has_no_init_and_trains_bn():
    cfg = Config.fromfile(KITTI_SCRATCH)
    backbone = cfg.model.backbone
    assert backbone.init_cfg is None
    assert backbone.frozen_stages == -1
    assert backbone.norm_cfg == dict(type='BN', requires_grad=True)
    assert backbone.norm_eval is False
    model = build_det(cfg)
    model.init_weights()  # no checkpoint needed
    assert all(p.requires_grad for p in model.backbone.parameters())


@pytest.mark.parametrize('frozen_stages', [-1, 0, 1, 2, 3, 4])
def test_kitti_sweep_options(r50_mmdet, frozen_stages):
    """What the sweep grids pass: a checkpoint and the frozen stages."""
    ckpt, source = r50_mmdet
    cfg = Config.fromfile(KITTI_REPORT)
    cfg.merge_from_dict({
        'model.backbone.init_cfg.checkpoint': ckpt,
        'model.backbone.frozen_stages': frozen_stages
    })
    model = build_det(cfg)
    model.init_weights()
    backbone = model.backbone
    assert backbone.transfer_info['matched'] == len(source) - 2  # no fc
    assert torch.equal(backbone.layer3[0].conv1.weight,
                       source['layer3.0.conv1.weight'])
    model.train()
    bns = [m for m in backbone.modules() if isinstance(m, _BatchNorm)]
    assert bns and all(not m.training for m in bns)  # norm_eval
    assert all(not p.requires_grad for m in bns for p in m.parameters())
    stem = list(backbone.conv1.parameters())
    stages = [
        list(getattr(backbone, f'layer{i}').parameters()) for i in range(1, 5)
    ]
    assert all(p.requires_grad == (frozen_stages < 0) for p in stem)
    for i, params in enumerate(stages, 1):
        convs = [p for p in params if p.dim() == 4]
        assert all(p.requires_grad == (i > frozen_stages) for p in convs)

    init_default_scope('mmdet')
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    in_optim = [p for g in optim.optimizer.param_groups for p in g['params']]
    assert {id(p) for p in in_optim} == trainable
    assert len(in_optim) == len(trainable)
    for group in optim.optimizer.param_groups:
        assert (group['lr'], group['weight_decay']) == (0.01, 5e-4)


def test_kitti_tiny_is_the_recipe_shrunk():
    cfg = Config.fromfile(KITTI_TINY)
    assert cfg.model.backbone.depth == 18
    assert cfg.model.backbone.init_cfg.type == 'VerifiedPretrained'
    assert cfg.model.backbone.norm_cfg.requires_grad is False
    resize = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t['type'] == 'Resize'
    ]
    assert resize[0]['scale'] == (1242, 375)  # the recipe's, native
    assert cfg.train_dataloader.num_workers == 0
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    # the recipe's lr for 6 images, scaled to the batch of 2 at run time
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=6)
