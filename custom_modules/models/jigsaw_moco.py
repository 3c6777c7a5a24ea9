"""``InfoMinJigsawMoCo``: mmselfsup's MoCo with the jigsaw (PIRL) branch of
InfoMin, and ``JigsawNeck``, the head of that branch.

`InfoMin <https://arxiv.org/abs/2005.10243>`_ (Tian et al., 2020) adds to
MoCo the jigsaw term of `PIRL <https://arxiv.org/abs/1912.01991>`_ (Misra
and van der Maaten, 2020). The semantics follow
`PyContrast <https://github.com/HobbitLong/PyContrast>`_ ``--method InfoMin``
(credit: Yonglong Tian), not its code; configs/infomin/README.md maps each
setting to its source.
"""
import math
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmselfsup.models.algorithms import MoCo
from mmselfsup.models.necks import MoCoV2Neck
from mmselfsup.registry import MODELS
from mmselfsup.structures import SelfSupDataSample
from mmselfsup.utils import batch_shuffle_ddp, batch_unshuffle_ddp


@MODELS.register_module()
class JigsawNeck(MoCoV2Neck):
    """PyContrast's ``JigsawHead`` (``head='mlp'``): a per-patch
    fc-relu-fc, then each image's patches in a random order (drawn anew at
    every forward), concatenated, through one linear layer.

    Args:
        in_channels, hid_channels, with_avg_pool, init_cfg: As
            ``MoCoV2Neck``'s (the per-patch MLP).
        out_channels (int): Embedding size, per patch and of the image.
        num_patches (int): Patches per image. Defaults to 9.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int,
                 out_channels: int,
                 num_patches: int = 9,
                 with_avg_pool: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(in_channels, hid_channels, out_channels,
                         with_avg_pool, init_cfg)
        self.num_patches = num_patches
        self.fc = nn.Linear(num_patches * out_channels, out_channels)

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        """``[(N * num_patches, C, H, W)]`` (image by image) to
        ``[(N, out_channels)]``, not normalized."""
        feats = super().forward(x)[0]
        k = self.num_patches
        if feats.size(0) % k:
            raise ValueError(f'JigsawNeck: {feats.size(0)} patches are not '
                             f'a whole number of images of {k} patches')
        feats = feats.view(feats.size(0) // k, k, -1)
        order = torch.rand(feats.shape[:2], device=feats.device).argsort(1)
        feats = feats.gather(1, order.unsqueeze(-1).expand_as(feats))
        return [self.fc(feats.flatten(1))]


def mosaic_to_patches(mosaic: torch.Tensor, num_grid: int) -> torch.Tensor:
    """Cut ``(N, C, g*P, g*P)`` mosaics (``JigsawPatches``) into
    ``(N * g * g, C, P, P)`` patches, image by image, row by row."""
    n, c, h, w = mosaic.shape
    if h % num_grid or w % num_grid:
        raise ValueError(f'a {w}x{h} jigsaw view is not a {num_grid}x'
                         f'{num_grid} mosaic of equal patches; make it with '
                         f'JigsawPatches(num_grid={num_grid})')
    p, q = h // num_grid, w // num_grid
    patches = mosaic.view(n, c, num_grid, p, num_grid, q)
    return patches.permute(0, 2, 4, 1, 3, 5).reshape(-1, c, p, q)


@MODELS.register_module()
class InfoMinJigsawMoCo(MoCo):
    """MoCo with the jigsaw branch of PyContrast's InfoMin preset.

    The inputs are the query crop, the key crop and the jigsaw mosaic
    (``JigsawPatches``). The online backbone encodes the query crop and the
    patches in separate calls; the jigsaw embedding's positive is the
    instance key ``k`` and its negatives the same queue as the query's. Only
    ``k`` is enqueued. The loss is ``(1 - w) * L_inst + w * L_jig``
    (PyContrast's ``--beta``), returned as the two weighted terms
    ``loss_inst`` and ``loss_jig``.

    Args:
        backbone, neck, head (dict): As mmselfsup's ``MoCo``.
        jigsaw_neck (dict): Config of the ``JigsawNeck``; its
            ``num_patches`` must be a square.
        jigsaw_weight (float): ``w`` above, in [0, 1]. Defaults to 0.5.
        **kwargs: Other arguments of mmselfsup's ``MoCo`` (``queue_len``,
            ``feat_dim``, ``momentum``, ...), with its defaults.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 jigsaw_neck: dict,
                 jigsaw_weight: float = 0.5,
                 **kwargs) -> None:
        if not 0 <= jigsaw_weight <= 1:
            raise ValueError('jigsaw_weight weighs the jigsaw term against '
                             'the instance term and must be in [0, 1], got '
                             f'{jigsaw_weight}')
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        self.jigsaw_neck = MODELS.build(jigsaw_neck)
        num_patches = self.jigsaw_neck.num_patches
        self.jigsaw_grid = math.isqrt(num_patches)
        if self.jigsaw_grid**2 != num_patches:
            raise ValueError(f'jigsaw_neck.num_patches={num_patches} is not '
                             'the size of a square grid')
        self.jigsaw_weight = jigsaw_weight

    def loss(self, inputs: List[torch.Tensor],
             data_samples: List[SelfSupDataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """``loss_inst`` and ``loss_jig``, weighted, of the query crops,
        key crops and jigsaw mosaics ``inputs``."""
        if len(inputs) != 3:
            raise ValueError(
                f'{type(self).__name__} takes 3 views (query, key, jigsaw), '
                f'got {len(inputs)}: use MultiView(num_views=[2, 1]) with '
                'JigsawPatches in the third pipeline')
        im_q, im_k, im_jig = inputs
        q = F.normalize(self.neck(self.backbone(im_q))[0], dim=1)

        with torch.no_grad():
            self.encoder_k.update_parameters(
                nn.Sequential(self.backbone, self.neck))
            im_k, idx_unshuffle = batch_shuffle_ddp(im_k)
            k = F.normalize(self.encoder_k(im_k)[0], dim=1)
            k = batch_unshuffle_ddp(k, idx_unshuffle)

        patches = mosaic_to_patches(im_jig, self.jigsaw_grid)
        q_jig = F.normalize(self.jigsaw_neck(self.backbone(patches))[0], dim=1)

        queue = self.queue.clone().detach()
        loss_inst = self._info_nce(q, k, queue)
        loss_jig = self._info_nce(q_jig, k, queue)
        self._dequeue_and_enqueue(k)

        w = self.jigsaw_weight
        return dict(loss_inst=(1 - w) * loss_inst, loss_jig=w * loss_jig)

    def _info_nce(self, q: torch.Tensor, k: torch.Tensor,
                  queue: torch.Tensor) -> torch.Tensor:
        """The head's loss of queries ``q`` with positives ``k`` and the
        ``(dim, K)`` negatives ``queue``."""
        l_pos = torch.einsum('nc,nc->n', q, k).unsqueeze(-1)
        l_neg = torch.einsum('nc,ck->nk', q, queue)
        return self.head(l_pos, l_neg)
