"""The InfoMin retraining configs with the jigsaw branch: PyContrast's
settings, nothing else changed from the configs they inherit, the pipeline
on files, and a short run through mmengine's Runner."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from custom_modules.compat.checkpoint import load_checkpoint_file
from ssdet.checkpoints import convert

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
INFOMIN = osp.join(REPO, 'configs', 'infomin')
RECIPE = osp.join(INFOMIN,
                  'mocov2_resnet50_infomin-init_1xb32-coslr-100e_nuimages.py')
JIGSAW = osp.join(
    INFOMIN, 'mocov2-jigsaw_resnet50_infomin-init_1xb32-coslr-100e_'
    'nuimages.py')
TINY = osp.join(INFOMIN, 'mocov2_resnet18_1xb16-coslr-2e_synthetic.py')
TINY_JIGSAW = osp.join(INFOMIN,
                       'mocov2-jigsaw_resnet18_1xb16-coslr-2e_synthetic.py')
#: What the jigsaw variants add or change: the model, the third view, the
#: converter hint of the recipe.
JIGSAW_KEYS = {'model', 'train_dataloader', 'jigsaw_pipeline', 'custom_hooks'}


def without_jigsaw(cfg):
    """The config as a dict, with the jigsaw branch taken out again."""
    d = cfg.to_dict()
    model = d['model']
    assert model.pop('type') == 'InfoMinJigsawMoCo'
    model.pop('jigsaw_neck')
    model.pop('jigsaw_weight')
    model['type'] = 'MoCo'
    multiview = d['train_dataloader']['dataset']['pipeline'][1]
    assert multiview['num_views'] == [2, 1]
    multiview.update(num_views=2, transforms=multiview['transforms'][:1])
    d.pop('jigsaw_pipeline')
    return d


@pytest.mark.parametrize(
    'jigsaw,base', [(JIGSAW, RECIPE), (TINY_JIGSAW, TINY)],
    ids=['recipe', 'tiny'])
def test_only_the_jigsaw_branch_differs(jigsaw, base):
    cfg, ref = Config.fromfile(jigsaw), Config.fromfile(base).to_dict()
    got = without_jigsaw(cfg)
    hooks = got.pop('custom_hooks'), ref.pop('custom_hooks')
    assert got == ref
    assert [h['type'] for h in hooks[0]] == [h['type'] for h in hooks[1]]
    if jigsaw == JIGSAW:
        assert '--target mmselfsup-jigsaw-moco' in hooks[0][0]['hint']


def test_recipe_has_pycontrast_infomin_jigsaw_settings():
    cfg = Config.fromfile(JIGSAW)
    assert cfg.model.type == 'InfoMinJigsawMoCo'
    # --beta 0.5; head_jig of RGBMultiHeads(head='mlp') on a ResNet-50
    assert cfg.model.jigsaw_weight == 0.5
    assert cfg.model.jigsaw_neck == dict(
        type='JigsawNeck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=128,
        num_patches=9)
    # jigsaw_transform: RandomResizedCrop(255, scale=(0.6, 1)), flip,
    # JigsawCrop(n_grid=3, img_size=255, crop_size=64), no colour change
    crop, flip, patches = cfg.train_dataloader.dataset.pipeline[1][
        'transforms'][1]
    assert (crop['type'], crop['size'], crop['scale']) == ('RandomResizedCrop',
                                                           255, (0.6, 1.))
    assert (flip['type'], flip['prob']) == ('RandomFlip', 0.5)
    assert patches == dict(type='JigsawPatches', num_grid=3, patch_size=64)
    # the instance part is the recipe's (nce_t 0.15, 65,536 keys)
    assert cfg.model.head.temperature == 0.15
    assert cfg.model.queue_len == 65536


def test_tiny_jigsaw_is_small():
    cfg = Config.fromfile(TINY_JIGSAW)
    assert cfg.model.backbone.depth == 18
    assert cfg.model.jigsaw_neck.in_channels == 512
    assert cfg.model.jigsaw_weight == 0.5
    crop, _, patches = cfg.jigsaw_pipeline
    # PyContrast's cell/patch ratio 85/64 at 16/12 px
    assert crop['size'] == 48 and patches['patch_size'] == 12


def test_recipe_pipeline_gives_three_views(selfsup_train_dataset):
    dataset = selfsup_train_dataset(JIGSAW, 2, (300, 400))
    np.random.seed(0)
    out = dataset[0]
    assert [tuple(x.shape) for x in out['inputs']] == [(3, 224, 224),
                                                       (3, 224, 224),
                                                       (3, 192, 192)]
    assert all(x.dtype == torch.uint8 for x in out['inputs'])


@pytest.mark.slow
def test_tiny_jigsaw_trains_with_the_runner(synthetic_root, tmp_path):
    """torchvision R18 -> convert.py (jigsaw target: the jigsaw neck left
    to init) -> 2 epochs of 3 iterations with load_from -> a checkpoint
    whose backbone converts for mmdet."""
    import torchvision
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    torch.manual_seed(0)
    source = str(tmp_path / 'r18.pth')
    torch.save(torchvision.models.resnet18().state_dict(), source)
    init = str(tmp_path / 'r18_jigsaw.pth')
    summary = convert(source, init, target='mmselfsup-jigsaw-moco')
    assert summary['jigsaw'].startswith('left to init')

    class Losses(Hook):

        def __init__(self):
            self.logged = []

        def after_train_iter(self,
                             runner,
                             batch_idx,
                             data_batch=None,
                             outputs=None):
            self.logged.append({k: v.item() for k, v in outputs.items()})

    cfg = Config.fromfile(TINY_JIGSAW)
    cfg.update(
        work_dir=str(tmp_path / 'work'),
        load_from=init,
        randomness=dict(seed=0),
        visualizer=dict(vis_backends=[dict(type='LocalVisBackend')]))
    images = osp.join(synthetic_root, 'unlabeled') + '/'
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': images,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'model.queue_len': 32,
    })
    runner = Runner.from_cfg(cfg)
    losses = Losses()
    runner.register_hook(losses)
    start = runner.model.jigsaw_neck.fc.weight.detach().clone()
    runner.train()
    assert len(losses.logged) == 6
    for logged in losses.logged:
        assert set(logged) == {'loss', 'loss_inst', 'loss_jig'}
        assert np.isclose(logged['loss'],
                          logged['loss_inst'] + logged['loss_jig'])
    state = load_checkpoint_file(str(tmp_path / 'work' /
                                     'epoch_2.pth'))['state_dict']
    assert int(state['queue_ptr']) == 6 * 16 % 32
    assert not torch.equal(state['jigsaw_neck.fc.weight'], start)
    summary = convert(
        str(tmp_path / 'work' / 'epoch_2.pth'), str(tmp_path / 'det.pth'))
    assert summary['dropped']['jigsaw_neck.*'] == 6
