"""``Shared2FCBBoxHeadLN``: mmdet's two-FC box head with LayerNorm.

LayerNorm before each ReLU keeps the random head on the scale of the
pretrained features. The norms live in a new attribute, ``shared_lns``:
mmdet's Xavier init of ``shared_fcs`` fails on a LayerNorm's 1-D weight.
"""
from typing import Tuple

from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class Shared2FCBBoxHeadLN(Shared2FCBBoxHead):
    """Shared2FCBBoxHead with LayerNorm in the shared FCs.

    Args:
        ln_position (str): ``'each'``: fc -> LN -> ReLU for both shared FCs
            (the report's head). ``'between'``: a single LN between the two
            FCs (fc1 -> LN -> ReLU -> fc2 -> ReLU). Defaults to ``'each'``.
        ln_eps (float): LayerNorm epsilon. Defaults to 1e-5.
        **kwargs: As for :class:`mmdet.models.Shared2FCBBoxHead`.
    """

    def __init__(self,
                 ln_position: str = 'each',
                 ln_eps: float = 1e-5,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if ln_position not in ('each', 'between'):
            raise ValueError('ln_position must be "each" or "between", '
                             f'got {ln_position!r}')
        self.ln_position = ln_position
        num = self.num_shared_fcs if ln_position == 'each' else 1
        self.shared_lns = nn.ModuleList(
            nn.LayerNorm(self.fc_out_channels, eps=ln_eps) for _ in range(num))

    def forward(self, x: Tuple[Tensor]) -> tuple:
        """Box scores and deltas; the shared part with LayerNorm."""
        if self.with_avg_pool:
            x = self.avg_pool(x)
        x = x.flatten(1)
        for i, fc in enumerate(self.shared_fcs):
            x = fc(x)
            if i < len(self.shared_lns):
                x = self.shared_lns[i](x)
            x = self.relu(x)
        cls_score = self.fc_cls(x) if self.with_cls else None
        bbox_pred = self.fc_reg(x) if self.with_reg else None
        return cls_score, bbox_pred
