# Copyright (c) OpenMMLab. All rights reserved.
from . import hooks, optimizers  # noqa: F401
