"""The configs of a transfer benchmark's runs: a method's pre-training config
on the benchmark's pool, and its fine-tuning config for one seed and
labelled subset (also the model whose frozen features are probed)."""
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from mmengine.config import Config, ConfigDict

from ...errors import ConfigError
from ...utils import load_config
from .data import BenchmarkData
from .methods import Method


@dataclass(frozen=True)
class Recipe:
    """What a benchmark changes in every config besides data and seed.

    Args:
        pretrain_iters (int, optional): Pre-training iterations instead of
            the configs' (schedules rescaled).
        finetune_iters (int, optional): Fine-tuning iterations instead of
            the configs' (schedules rescaled).
        finetune_options (dict): Key -> value merged into every fine-tuning
            config, e.g. ``{'optim_wrapper.optimizer.lr': 1e-3}``.
        quiet (bool): Runs log warnings only (``log_level='WARNING'``);
            otherwise the configs' log level. Defaults to True.
    """

    pretrain_iters: Optional[int] = None
    finetune_iters: Optional[int] = None
    finetune_options: Dict[str, Any] = field(default_factory=dict)
    quiet: bool = True


def load_finetune_config(path: str, work_dir: str, seed: int,
                         recipe: Recipe) -> Config:
    """A fine-tuning config with the run's runtime and the recipe's
    ``finetune_options`` merged in.

    Args:
        path (str): The config file.
        work_dir (str): The run's work dir.
        seed (int): The run's seed.
        recipe (Recipe): The benchmark's changes.

    Returns:
        Config: The config.
    """
    cfg = load_config(path)
    set_runtime(cfg, work_dir, seed, recipe.quiet)
    for key, value in recipe.finetune_options.items():
        cfg.merge_from_dict({key: value})
    return cfg


def pretraining_backbone(method: Method) -> Optional[ConfigDict]:
    """The backbone of a method's pre-training config, whose size the
    fine-tuned backbone takes.

    Args:
        method (Method): The method.

    Returns:
        ConfigDict, optional: Its ``model.backbone``; None for a random-init
        row.

    Raises:
        ConfigError: A ``model.backbone.arch`` that is not a dict.
    """
    if method.pretrain_config is None:
        return None
    pre = load_config(method.pretrain_config).model.backbone
    if not isinstance(pre.get('arch'), dict):
        raise ConfigError(
            f'{method.pretrain_config}: the benchmark fine-tunes backbones '
            'whose model.backbone.arch is a dict (embed_dims, num_layers, '
            f'num_heads, feedforward_channels), got {pre.get("arch")!r}')
    return pre


def set_iterations(cfg: Config, iters: Optional[int]) -> int:
    """Set ``train_cfg.max_iters``, rescaling the schedulers to it.

    Each scheduler's ``begin``, ``end`` and ``milestones`` are scaled by the
    ratio of the new to the old number of iterations (rounded; every
    scheduler keeps at least one iteration).

    Args:
        cfg (Config): An iteration-based config, changed in place.
        iters (int, optional): The iterations; None keeps the config's.

    Returns:
        int: ``max_iters`` as set.
    """
    if iters is None:
        return cfg.train_cfg.max_iters
    old = cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = iters
    for scheduler in cfg.param_scheduler:
        begin = round(scheduler.get('begin', 0) * iters / old)
        scheduler['begin'] = begin
        scheduler['end'] = max(
            begin + 1, round(scheduler.get('end', old) * iters / old))
        if 'milestones' in scheduler:
            scheduler['milestones'] = [
                round(step * iters / old) for step in scheduler['milestones']
            ]
    return iters


def set_runtime(cfg: Config, work_dir: str, seed: int, quiet: bool) -> None:
    """One process, the run's seed (alike on every rank) and work dir.

    Args:
        cfg (Config): A run's config, changed in place.
        work_dir (str): The run's work dir.
        seed (int): The run's seed.
        quiet (bool): Log warnings only (``log_level='WARNING'``).
    """
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.randomness = dict(seed=seed, diff_rank_seed=False)
    if quiet:
        cfg.log_level = 'WARNING'


def pretrain_config(method: Method, seed: int, data: BenchmarkData,
                    work_dir: str, recipe: Recipe) -> Config:
    """The method's pre-training config on the benchmark's pool.

    Its dataset is replaced by the pool's file list (train + val, no
    labels) and its pipeline kept; an iteration-based run keeps one
    checkpoint, at its end.

    Args:
        method (Method): A method with a pre-training config.
        seed (int): The run's seed.
        data (BenchmarkData): The benchmark's data.
        work_dir (str): The run's work dir.
        recipe (Recipe): The benchmark's changes.

    Returns:
        Config: The run's config.

    Raises:
        ConfigError: ``recipe.pretrain_iters`` with an epoch-based config.
    """
    cfg = load_config(method.pretrain_config)
    set_runtime(cfg, work_dir, seed, recipe.quiet)
    cfg.train_dataloader.dataset = dict(
        type='CustomDataset',
        data_root=data.root,
        ann_file=data.ann_file('pool'),
        with_label=False,
        pipeline=cfg.train_dataloader.dataset.pipeline)
    if 'max_iters' in cfg.train_cfg:
        iters = set_iterations(cfg, recipe.pretrain_iters)
        cfg.default_hooks.checkpoint.update(
            interval=iters, by_epoch=False, max_keep_ckpts=1)
    elif recipe.pretrain_iters is not None:
        raise ConfigError(f'--pretrain-iters needs iteration-based configs; '
                          f'{method.pretrain_config} trains by epochs')
    return cfg


def finetune_config(method: Method, seed: int, train_list: str,
                    data: BenchmarkData, work_dir: str,
                    checkpoint: Optional[str], recipe: Recipe) -> Config:
    """The method's fine-tuning config for one seed and labelled subset.

    The recipe's options are merged first; a pre-trained method's backbone
    then takes the architecture, patch and input size of its pre-training
    config and is initialised from ``checkpoint`` (a random-init row, or a
    method without checkpoint, from its random initialisation). The head
    classifies the folder's classes; the model is evaluated once, after
    training, on the val split (the test loader reads the test split).

    Args:
        method (Method): The method.
        seed (int): The run's seed.
        train_list (str): Annotation list of the labelled subset.
        data (BenchmarkData): The benchmark's data.
        work_dir (str): The run's work dir.
        checkpoint (str, optional): The pre-trained weights.
        recipe (Recipe): The benchmark's changes.

    Returns:
        Config: The run's config.

    Raises:
        ConfigError: A pre-training config whose ``model.backbone.arch`` is
            not a dict.
    """
    cfg = load_finetune_config(method.finetune_config, work_dir, seed,
                               recipe)
    pre = pretraining_backbone(method)
    if pre is not None:
        cfg.model.backbone.update(
            arch=pre.arch, img_size=pre.img_size, patch_size=pre.patch_size)
        cfg.model.head.in_channels = pre.arch['embed_dims']
        for step in (cfg.train_dataloader.dataset.pipeline +
                     cfg.test_dataloader.dataset.pipeline):
            if 'scale' in step:
                step.scale = pre.img_size
    if checkpoint is None:
        cfg.model.backbone.init_cfg = None
    else:
        cfg.model.backbone.init_cfg.checkpoint = checkpoint
    cfg.model.head.num_classes = len(data.classes)
    cfg.data_preprocessor.num_classes = len(data.classes)
    iters = set_iterations(cfg, recipe.finetune_iters)
    cfg.train_cfg.val_interval = iters + 1  # evaluated after training
    for loader, ann_file in ((cfg.train_dataloader, train_list),
                             (cfg.val_dataloader, data.ann_file('val')),
                             (cfg.test_dataloader, data.ann_file('test'))):
        loader.dataset.data_root = data.root
        loader.dataset.ann_file = ann_file
    return cfg
