"""Read a config and build its runner, as every tool and library caller does."""
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..build_errors import missing_package
from ..config_check import check_conmim_config


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and merge command-line overrides.

    Args:
        path (str): Config file.
        cfg_options (dict, optional): ``--cfg-options`` key/value pairs.

    Returns:
        Config: The merged config.

    Raises:
        FileNotFoundError: If ``path`` is not a file.
        MissingPackageError: The config's ``mmseg::``/``mmdet::`` bases or
            imports need a package this environment lacks.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    try:
        cfg = Config.fromfile(path)
    except ModuleNotFoundError as err:
        missing = missing_package(err, needed_by=path)
        if missing is None:
            raise
        raise missing from None
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def build_runner(cfg: Config) -> Runner:
    """Build the runner the config asks for (``runner_type``) or mmengine's.

    A ConMIM pre-training config is checked first
    (:func:`~conmim_mm.config_check.check_conmim_config`); nothing of the
    config is changed.

    Args:
        cfg (Config): A complete config (``work_dir`` set).

    Returns:
        Runner: As mmpretrain's ``tools/train.py`` builds it.
    """
    if cfg.get('model', {}).get('type') == 'ConMIM':
        check_conmim_config(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
