"""``ResLayerWithExtraNorm``: the C4 res5 RoI head with a norm on its output.

Credit: MoCo's detectron2 benchmark (``Res5ROIHeadsExtraNorm``,
facebookresearch/moco ``detection/train_net.py``). Unlike mmselfsup 1.0's
``ResLayerExtraNorm``, which reuses res5's ``norm_cfg`` and so, with
``norm_eval=True``, never updates its statistics, the extra norm has its own
config and always trains.
"""
from typing import Optional

from mmcv.cnn import build_norm_layer
from mmdet.models.backbones import ResNet
from mmdet.models.roi_heads.shared_heads import ResLayer
from mmdet.registry import MODELS
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm


@MODELS.register_module()
class ResLayerWithExtraNorm(ResLayer):
    """mmdet's res5 shared head and an extra norm, trained with batch
    statistics even when ``norm_eval=True`` freezes res5's (as MoCo).

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
