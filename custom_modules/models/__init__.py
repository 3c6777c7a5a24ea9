from .bbox_heads import Shared2FCBBoxHeadLN
from .gpu_multiview import MultiViewGPUPreprocessor
from .jigsaw_moco import InfoMinJigsawMoCo, JigsawNeck
from .res5_head import ResLayerWithExtraNorm
from .verified_pretrained import VerifiedPretrainedInit

__all__ = [
    'Shared2FCBBoxHeadLN', 'ResLayerWithExtraNorm', 'VerifiedPretrainedInit',
    'InfoMinJigsawMoCo', 'JigsawNeck', 'MultiViewGPUPreprocessor'
]
