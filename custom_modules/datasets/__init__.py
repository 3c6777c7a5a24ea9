from .jigsaw import JigsawPatches
from .transforms import (LoadImageFromFileOrSkip, decode_image_bgr,
                         find_skipping_loaders)
from .unlabeled import UnlabeledImageDataset, read_image_list, scan_images

__all__ = [
    'JigsawPatches', 'LoadImageFromFileOrSkip', 'UnlabeledImageDataset',
    'decode_image_bgr', 'find_skipping_loaders', 'read_image_list',
    'scan_images'
]
