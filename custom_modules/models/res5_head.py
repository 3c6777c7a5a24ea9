"""``ResLayerWithExtraNorm``: the C4 res5 RoI head with a norm on its output.

Credit: MoCo's detectron2 benchmark (``Res5ROIHeadsExtraNorm`` in
facebookresearch/moco ``detection/train_net.py``) appends one norm layer after
res5 so that the box predictor sees normalised features from a
self-supervised backbone. Here mmdet's ``ResLayer`` shared head is subclassed
the same way; its forward is unchanged apart from the norm.

mmselfsup 1.0 registers a ``ResLayerExtraNorm`` into mmdet's MODELS too (hence
the other name): its norm reuses res5's ``norm_cfg``, so with
``norm_cfg=dict(type='BN')`` and ``norm_eval=True`` the new norm is put in
eval mode and normalises with its initial statistics (mean 0, var 1) forever.
Here the extra norm has its own config and always trains its statistics.
"""
from typing import Optional

from mmcv.cnn import build_norm_layer
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet.models.backbones import ResNet
from mmdet.models.roi_heads.shared_heads import ResLayer
from mmdet.registry import MODELS


@MODELS.register_module()
class ResLayerWithExtraNorm(ResLayer):
    """mmdet's res5 shared head followed by an extra norm layer.

    The extra norm is trained with batch statistics even when
    ``norm_eval=True`` freezes the statistics of res5's own norms (as MoCo,
    whose res5 is FrozenBN and whose extra norm is SyncBN).

    Args:
        depth (int): ResNet depth (18, 34, 50, ...).
        extra_norm_cfg (dict, optional): The extra norm. Defaults to
            ``dict(type='BN', requires_grad=True)``; use ``SyncBN`` on
            several GPUs.
        **kwargs: As for :class:`mmdet.models.ResLayer` (shared head).
    """

    def __init__(self,
                 depth: int,
                 extra_norm_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(depth, **kwargs)
        if extra_norm_cfg is None:
            extra_norm_cfg = dict(type='BN', requires_grad=True)
        block, _ = ResNet.arch_settings[depth]
        out_channels = 64 * 2**self.stage * block.expansion
        self.extra_norm_name, extra_norm = build_norm_layer(
            extra_norm_cfg, out_channels, postfix='_extra')
        self.add_module(self.extra_norm_name, extra_norm)

    @property
    def extra_norm(self):
        """The norm applied to res5's output."""
        return getattr(self, self.extra_norm_name)

    def forward(self, x: Tensor) -> Tensor:
        return self.extra_norm(super().forward(x))

    def train(self, mode: bool = True):
        super().train(mode)
        if isinstance(self.extra_norm, _BatchNorm):
            self.extra_norm.train(mode)
        return self
