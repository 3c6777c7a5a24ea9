from .jigsaw import JigsawPatches
from .multiview import DecodeOnceMultiView
from .photometric import (ColorJitterU8, RandomFlipU8, RandomGaussianBlurU8,
                          RandomGrayscaleU8)
from .transforms import (LoadImageFromFileOrSkip, PackImageBytes,
                         decode_image_bgr, find_skipping_loaders)
from .unlabeled import UnlabeledImageDataset, read_image_list, scan_images

__all__ = [
    'ColorJitterU8', 'DecodeOnceMultiView', 'JigsawPatches',
    'LoadImageFromFileOrSkip', 'PackImageBytes', 'RandomFlipU8',
    'RandomGaussianBlurU8', 'RandomGrayscaleU8', 'UnlabeledImageDataset',
    'decode_image_bgr', 'find_skipping_loaders', 'read_image_list',
    'scan_images'
]
