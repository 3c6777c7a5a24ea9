# Copyright (c) OpenMMLab. All rights reserved.
from .config import (ConfigKeyError, apply_cli_options, check_cfg_options,
                     load_config)

__all__ = [
    'ConfigKeyError', 'apply_cli_options', 'check_cfg_options', 'load_config'
]
