"""Config handling shared by the tools that load a config (``train.py``,
``test.py``, the benchmark and the detection comparison): loading, and
``--cfg-options`` checked for typos before they are merged."""
import difflib
import os.path as osp
from typing import Any, Dict, Optional

from mmengine.config import Config


class ConfigKeyError(KeyError):
    """A ``--cfg-options`` key that looks like a typo of an existing key."""

    def __str__(self) -> str:
        return str(self.args[0])


def check_cfg_options(cfg: Config, options: Optional[Dict[str, Any]]) -> None:
    """Refuse ``--cfg-options`` keys that are near misses of existing keys.

    mmengine silently adds any key it is given, so ``train_cfg.max_epoch=2``
    (for ``max_epochs``) trains for the config's 12 epochs without a word. A
    key that does not exist but is close to one that does is an error naming
    both; a genuinely new key (no close match) is still allowed, as upstream.

    Args:
        cfg (Config): The loaded config.
        options (dict, optional): Parsed ``--cfg-options``.

    Raises:
        ConfigKeyError: A key looks like a typo.
    """
    for full_key in options or {}:
        node: Any = cfg.to_dict()
        parts = full_key.split('.')
        for depth, part in enumerate(parts):
            if isinstance(node, (list, tuple)) and part.isdigit():
                node = node[int(part)] if int(part) < len(node) else None
                continue
            if not isinstance(node, dict) or part in node:
                node = node.get(part) if isinstance(node, dict) else None
                if node is None:
                    break
                continue
            close = difflib.get_close_matches(
                part, [str(k) for k in node.keys()], n=1, cutoff=0.8)
            if close:
                where = '.'.join(parts[:depth] + [close[0]])
                raise ConfigKeyError(
                    f'--cfg-options key "{full_key}" does not exist in '
                    f'{cfg.filename}; did you mean "{where}"? (A new key that '
                    'is not a near miss of an existing one is accepted.)')
            break


def merge_cfg_options(cfg: Config,
                      cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Merge ``--cfg-options`` into ``cfg`` after :func:`check_cfg_options`.

    Raises:
        ConfigKeyError: A key looks like a typo, or cannot be set from the
            command line (it lies below a value that is not a dict).
    """
    check_cfg_options(cfg, cfg_options)
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except (TypeError, KeyError) as e:
            given = ' '.join(f'{k}={v}' for k, v in cfg_options.items())
            raise ConfigKeyError(
                f'--cfg-options {given} cannot be merged into '
                f'{cfg.filename} ({e}): a key below a value that is None or '
                'not a dict cannot be set from the command line; write a '
                'small config that inherits this one and sets the value.'
            ) from e
    return cfg


def apply_cli_options(cfg: Config,
                      config_path: str,
                      work_dir: Optional[str] = None,
                      cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Merge ``--cfg-options`` and pick the work dir, as mmdet's tools do."""
    merge_cfg_options(cfg, cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])
    return cfg


def load_config(path: str) -> Config:
    """Load a config file, or an upstream config by name
    (``mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py``), with a clear
    error for a missing file."""
    if '::' in path:
        from mmengine.hub import get_config
        return get_config(path)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'config {path} not found (configs live under configs/, e.g. '
            'configs/demo/)')
    return Config.fromfile(path)
