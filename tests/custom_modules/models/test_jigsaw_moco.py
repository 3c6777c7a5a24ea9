"""InfoMinJigsawMoCo and JigsawNeck (custom_modules/models/jigsaw_moco.py):
PyContrast's InfoMin jigsaw semantics, on the tiny CPU config's model."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.registry import init_default_scope

from custom_modules.models.jigsaw_moco import mosaic_to_patches

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TINY_JIGSAW = osp.join(REPO, 'configs', 'infomin',
                       'mocov2-jigsaw_resnet18_1xb16-coslr-2e_synthetic.py')
TINY_MOCO = osp.join(REPO, 'configs', 'infomin',
                     'mocov2_resnet18_1xb16-coslr-2e_synthetic.py')
BATCH = 4
QUEUE = 8


def build(path=TINY_JIGSAW, **model):
    """The config's model with a queue of ``QUEUE`` keys."""
    from mmselfsup.registry import MODELS
    init_default_scope('mmselfsup')
    cfg = Config.fromfile(path).model
    cfg.update(dict(dict(queue_len=QUEUE), **model))
    torch.manual_seed(0)
    return MODELS.build(cfg)


def views(n=BATCH, seed=0):
    """Query and key crops (32 px) and a jigsaw mosaic (3 x 12 px)."""
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(n, 3, 32, 32, generator=g),
        torch.randn(n, 3, 32, 32, generator=g),
        torch.randn(n, 3, 36, 36, generator=g)
    ]


def reference_losses(model, inputs, seed):
    """PyContrast's ``RGBMoCo`` and ``_train_moco`` written out: the
    instance query and the jigsaw query are both scored against the
    instance key ``k`` (positive) and the one memory (negatives), each with
    cross-entropy at the temperature ``nce_t``. ``model`` is a copy taken
    before the step; the RNG draws come in the algorithm's order (the key
    shuffle, then the patch order)."""
    im_q, im_k, im_jig = inputs
    torch.manual_seed(seed)
    with torch.no_grad():
        model.encoder_k.update_parameters(
            torch.nn.Sequential(model.backbone, model.neck))
        perm = torch.randperm(im_k.size(0))
        k = F.normalize(model.encoder_k(im_k[perm])[0], dim=1)
        k = k[torch.argsort(perm)]
        q = F.normalize(model.neck(model.backbone(im_q))[0], dim=1)
        patches = mosaic_to_patches(im_jig, 3)
        q_jig = F.normalize(
            model.jigsaw_neck(model.backbone(patches))[0], dim=1)
        memory = model.queue.t()  # PyContrast keeps K x D rows
        labels = torch.zeros(im_q.size(0), dtype=torch.long)
        temperature = model.head.temperature

        def nce(query):
            pos = (query * k).sum(1, keepdim=True)
            neg = query @ memory.t()
            return F.cross_entropy(
                torch.cat([pos, neg], 1) / temperature, labels)

        return nce(q), nce(q_jig)


def test_forward_backward():
    model = build()
    model.train()
    losses = model.loss(views(), None)
    assert set(losses) == {'loss_inst', 'loss_jig'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    for name in ('backbone.conv1.weight', 'neck.mlp.0.weight',
                 'jigsaw_neck.mlp.0.weight', 'jigsaw_neck.mlp.2.weight',
                 'jigsaw_neck.fc.weight'):
        grad = model.get_parameter(name).grad
        assert grad is not None and grad.abs().sum() > 0, name
    # the momentum encoder is not trained by gradients
    assert all(p.grad is None for p in model.encoder_k.parameters())
    # the jigsaw neck has PyContrast's head_jig shapes (R18: 512 channels)
    assert model.jigsaw_neck.mlp[0].weight.shape == (512, 512)
    assert model.jigsaw_neck.mlp[2].weight.shape == (128, 512)
    assert model.jigsaw_neck.fc.weight.shape == (128, 9 * 128)


def test_losses_follow_pycontrast():
    model = build()
    model.train()
    before = copy.deepcopy(model)
    inputs = views()
    torch.manual_seed(3)
    losses = model.loss(inputs, None)
    inst, jig = reference_losses(before, inputs, seed=3)
    torch.testing.assert_close(losses['loss_inst'], 0.5 * inst)
    torch.testing.assert_close(losses['loss_jig'], 0.5 * jig)


@pytest.mark.parametrize('weight', [0., 0.5, 1.])
def test_weight(weight):
    """loss = (1 - w) * instance + w * jigsaw (PyContrast's --beta); with
    w = 0 it is mmselfsup's MoCo loss on the same weights."""
    model = build(jigsaw_weight=weight)
    model.train()
    before = copy.deepcopy(model)
    inputs = views()
    torch.manual_seed(5)
    losses = model.loss(inputs, None)
    inst, jig = reference_losses(before, inputs, seed=5)
    torch.testing.assert_close(losses['loss_inst'], (1 - weight) * inst)
    torch.testing.assert_close(losses['loss_jig'], weight * jig)
    total, log_vars = model.parse_losses(losses)
    torch.testing.assert_close(total, (1 - weight) * inst + weight * jig)
    assert set(log_vars) == {'loss', 'loss_inst', 'loss_jig'}
    if weight == 0:
        moco = build(TINY_MOCO)
        moco.load_state_dict(before.state_dict(), strict=False)
        moco.train()
        torch.manual_seed(5)
        torch.testing.assert_close(moco.loss(inputs[:2], None)['loss'], total)


def test_weight_default_and_range():
    assert build().jigsaw_weight == 0.5
    with pytest.raises(ValueError, match=r'jigsaw_weight .* \[0, 1\]'):
        build(jigsaw_weight=1.5)


def test_one_queue_holds_the_instance_keys():
    """PyContrast's RGBMoCo has one memory for both branches: each step
    enqueues the batch's instance keys once; jigsaw embeddings never enter
    it."""
    model = build()
    model.train()
    assert model.queue.shape == (128, QUEUE)
    assert int(model.queue_ptr) == 0
    assert not hasattr(model, 'jigsaw_queue')
    torch.testing.assert_close(model.queue.norm(dim=0), torch.ones(QUEUE))
    for step in range(3):
        old = model.queue.clone()
        inputs = views(seed=step)
        model.loss(inputs, None)
        start = step * BATCH % QUEUE
        assert int(model.queue_ptr) == (step + 1) * BATCH % QUEUE
        new = model.queue[:, start:start + BATCH]
        assert not torch.allclose(new, old[:, start:start + BATCH])
        rest = torch.ones(QUEUE, dtype=torch.bool)
        rest[start:start + BATCH] = False
        assert torch.equal(model.queue[:, rest], old[:, rest])
        # the new columns are the keys of the key crops (the momentum
        # encoder's BN uses batch statistics, so a second pass agrees)
        with torch.no_grad():
            keys = F.normalize(model.encoder_k(inputs[1])[0], dim=1)
        torch.testing.assert_close(new, keys.t(), rtol=1e-4, atol=1e-5)


def test_needs_three_views_and_a_square_grid():
    model = build()
    with pytest.raises(ValueError, match='3 views .* MultiView'):
        model.loss(views()[:2], None)
    with pytest.raises(ValueError, match='not a 3x3 mosaic'):
        model.loss(views()[:2] + [torch.randn(BATCH, 3, 35, 36)], None)
    with pytest.raises(ValueError, match='num_patches=8 is not'):
        build(
            jigsaw_neck=dict(
                type='JigsawNeck',
                in_channels=512,
                hid_channels=512,
                out_channels=128,
                num_patches=8))


def test_mosaic_to_patches_is_row_major_per_image():
    patches = torch.arange(2 * 9, dtype=torch.float).view(-1, 1, 1, 1)
    patches = patches.expand(-1, 3, 4, 5)  # 4 x 5 px, value = index
    mosaic = torch.cat([
        torch.cat([
            torch.cat([patches[n * 9 + i * 3 + j] for j in range(3)], -1)
            for i in range(3)
        ], -2)[None] for n in range(2)
    ])
    assert mosaic.shape == (2, 3, 12, 15)
    assert torch.equal(mosaic_to_patches(mosaic, 3), patches)


def test_jigsaw_neck_shuffles_within_each_image():
    """The per-patch embeddings of an image reach the combining layer in a
    random order, never mixed with another image's (PyContrast's
    ``get_shuffle_ids``)."""
    neck = build().jigsaw_neck
    neck.fc = torch.nn.Identity()  # see the concatenation itself
    feats = [torch.randn(2 * 9, 512, 1, 1)]
    per_patch = neck.mlp(feats[0].flatten(1)).view(2, 9, 128)
    orders = set()
    for seed in range(4):
        torch.manual_seed(seed)
        out = neck(feats)[0].view(2, 9, 128)
        for n in range(2):
            # each output slot is one of this image's patches, each once
            match = torch.cdist(out[n], per_patch[n]).argmin(1)
            assert sorted(match.tolist()) == list(range(9))
            torch.testing.assert_close(out[n], per_patch[n][match])
            orders.add(tuple(match.tolist()))
    assert len(orders) > 1
    with pytest.raises(ValueError, match='not a whole number of images'):
        neck([torch.randn(10, 512, 1, 1)])


def test_patches_are_preprocessed_like_any_view(tmp_path):
    """JigsawPatches' mosaic through PackSelfSupInputs and the model's data
    preprocessor (BGR -> RGB, normalisation per pixel) gives the normalised
    RGB patches."""
    from mmcv.transforms import Compose
    from mmselfsup.registry import TRANSFORMS
    init_default_scope('mmselfsup')
    img = np.random.default_rng(0).integers(0, 256, (48, 48, 3), np.uint8)
    pipeline = Compose([
        TRANSFORMS.build(dict(type='JigsawPatches', patch_size=12)),
        TRANSFORMS.build(dict(type='PackSelfSupInputs'))
    ])
    np.random.seed(0)
    sample = pipeline(dict(img=img))
    mosaic = sample['inputs'][0]
    model = build()
    inputs, _ = model.data_preprocessor(default_collate([sample]), True)
    patches = mosaic_to_patches(inputs[0], 3)
    assert patches.shape == (9, 3, 12, 12)
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    top_left = (mosaic[[2, 1, 0], :12, :12].float() - mean) / std
    torch.testing.assert_close(patches[0], top_left)


@pytest.mark.slow
def test_short_training_on_the_synthetic_set_lowers_both_losses(
        synthetic_root):
    """60 SGD steps (lr 0.01) over three fixed batches of 16 synthetic
    images, their three views drawn once by the tiny config's pipeline, a
    queue of one batch (the previous batch's keys). With the views fixed
    the model can fit them within a few dozen steps; with fresh views every
    step (a real run) a few hundred CPU iterations barely leave chance
    (configs/infomin/README.md). Measured, mean of the first / last 10
    steps: instance 1.87 -> 0.22, jigsaw 2.83 -> 0.83 (chance ln 17 =
    2.83)."""
    from mmselfsup.registry import DATASETS
    model = build(queue_len=16)
    cfg = Config.fromfile(TINY_JIGSAW)
    data = dict(cfg.train_dataloader.dataset)
    data.update(data_root=osp.join(synthetic_root, 'unlabeled') + '/')
    dataset = DATASETS.build(data)
    assert len(dataset) == 48
    np.random.seed(0)
    batches = [
        model.data_preprocessor(
            default_collate([dataset[i] for i in range(b, b + 16)]), True)
        for b in (0, 16, 32)
    ]
    assert [x.shape[1:]
            for x in batches[0][0]] == [(3, 32, 32)] * 2 + [(3, 36, 36)]
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    inst, jig = [], []
    torch.manual_seed(0)
    for step in range(60):
        inputs, samples = batches[step % 3]
        losses = model.loss(inputs, samples)
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
        inst.append(2 * losses['loss_inst'].item())  # unweighted, w = 0.5
        jig.append(2 * losses['loss_jig'].item())
    assert all(np.isfinite(inst + jig))
    for name, values in (('instance', inst), ('jigsaw', jig)):
        first, last = np.mean(values[:10]), np.mean(values[-10:])
        assert last < first - 0.8, (name, first, last)
    assert np.mean(jig[-10:]) < 0.7 * np.log(17)
