"""Fixtures of the config tests."""
from typing import Callable

import numpy as np
import pytest


@pytest.fixture
def selfsup_train_dataset(tmp_path) -> Callable:
    """``selfsup_train_dataset(config, num, size)``: the train data set of
    an mmselfsup ``config`` (with its whole pipeline) over ``num`` random
    ``size`` (H, W) PNGs in a temporary folder."""

    def build(config: str, num: int, size=(48, 64)):
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        from mmselfsup.registry import DATASETS
        from PIL import Image
        rng = np.random.default_rng(0)
        for i in range(num):
            Image.fromarray(
                rng.integers(0, 256, (*size, 3),
                             dtype=np.uint8)).save(tmp_path / f'{i}.png')
        init_default_scope('mmselfsup')
        data = dict(Config.fromfile(config).train_dataloader.dataset)
        data.update(data_root=str(tmp_path), ann_file='')
        return DATASETS.build(data)

    return build
