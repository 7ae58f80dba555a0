"""The configs of the dense runs: a method's segmentation or detection
config (``configs/transfer/<task>_<family>.py``) for one seed, train-scene
budget and checkpoint, on the benchmark's digit scenes."""
import os.path as osp
from typing import Dict, Optional

from mmengine.config import Config

from ...utils import load_config
from .configs import (Recipe, load_finetune_config, pretraining_backbone,
                      set_iterations)
from .dense_plan import DenseCell, dense_config_path
from .methods import Method
from .scenes import SceneFolder


def dense_budget(config_dir: str) -> Config:
    """The ``dense`` budget of ``<config_dir>/_base_/budget.py``.

    Args:
        config_dir (str): The benchmark's config folder.

    Returns:
        Config: ``img_size``, ``batch_size``, ``segment_max_iters``,
        ``segment_warmup_iters``, ``detect_max_iters``,
        ``detect_warmup_iters``, ``val_scenes``, ``test_scenes``,
        ``scene_seed``.
    """
    return load_config(osp.join(config_dir, '_base_', 'budget.py')).dense


def layer_decay_keys(num_layers: int, rate: float) -> Dict[str, dict]:
    """BEiT's layer decay as ``paramwise_cfg.custom_keys`` of mmengine's
    ``DefaultOptimWrapperConstructor`` (as the dense configs compute them).

    Args:
        num_layers (int): The backbone's blocks.
        rate (float): The decay.

    Returns:
        dict: ``backbone.patch_embed.``, ``backbone.cls_token`` and
        ``backbone.pos_embed`` at ``rate ** (num_layers + 1)``,
        ``backbone.layers.<i>.`` at ``rate ** (num_layers - i)``.
    """
    keys = {
        f'backbone.{name}': dict(lr_mult=rate**(num_layers + 1))
        for name in ('patch_embed.', 'cls_token', 'pos_embed')
    }
    keys.update({
        f'backbone.layers.{i}.': dict(lr_mult=rate**(num_layers - i))
        for i in range(num_layers)
    })
    return keys


def _set_backbone_size(cfg: Config, arch: dict, patch_size: int) -> None:
    """A pre-training's ViT size in a dense config: its arch and patch, its
    width in the pyramid and heads, the last block of each quarter into the
    pyramid, the layer decay over its blocks."""
    layers, width = arch['num_layers'], arch['embed_dims']
    model = cfg.model
    model.backbone.update(
        arch=arch, patch_size=patch_size,
        out_indices=[layers * (q + 1) // 4 - 1 for q in range(4)])
    if isinstance(model.neck, list):  # Feature2Pyramid + FPN
        model.neck[0].embed_dim = width
        model.neck[1].in_channels = [width] * 4
    else:  # Feature2Pyramid, UPerHead, FCNHead
        model.neck.embed_dim = width
        model.decode_head.in_channels = [width] * 4
        model.auxiliary_head.in_channels = width
    (rate, ) = [hook.layer_decay_rate for hook in cfg.custom_hooks
                if hook.type == 'FinetuneChecksHook']
    cfg.optim_wrapper.paramwise_cfg.custom_keys = layer_decay_keys(
        layers, rate)


def dense_config(method: Method, cell: DenseCell, scenes: SceneFolder,
                 work_dir: str, checkpoint: Optional[str], recipe: Recipe,
                 config_dir: str) -> Config:
    """A method's dense config for one cell.

    A pre-trained method's backbone takes the architecture and patch size
    of its pre-training config (the input stays the dense budget's) and is
    initialised from ``checkpoint``; a random-init row (or no checkpoint)
    starts from its random initialisation. The train loader reads the first
    ``cell.train_scenes`` train scenes; the model is evaluated once, after
    training (val, then test).

    Args:
        method (Method): The method.
        cell (DenseCell): Task, budget and seed.
        scenes (SceneFolder): The written scenes.
        work_dir (str): The run's work dir.
        checkpoint (str, optional): The pre-trained weights.
        recipe (Recipe): The benchmark's iterations, fine-tuning options
            (merged into the config of every task) and log level.
        config_dir (str): The benchmark's config folder.

    Returns:
        Config: The run's config.

    Raises:
        ConfigError: A pre-training config whose ``model.backbone.arch`` is
            not a dict.
    """
    cfg = load_finetune_config(
        dense_config_path(method, cell.task, config_dir), work_dir,
        cell.seed, recipe)
    pre = pretraining_backbone(method)
    if pre is not None:
        _set_backbone_size(cfg, dict(pre.arch), pre.patch_size)
    if checkpoint is None:
        cfg.model.backbone.init_cfg = None
    else:
        cfg.model.backbone.init_cfg.checkpoint = checkpoint
    iters = set_iterations(cfg, recipe.finetune_iters)
    cfg.train_cfg.val_interval = iters + 1  # evaluated after training
    cfg.default_hooks.checkpoint = None  # scores are kept, not weights
    for loader in (cfg.train_dataloader, cfg.val_dataloader,
                   cfg.test_dataloader):
        loader.dataset.data_root = scenes.root
    cfg.train_dataloader.dataset.indices = cell.train_scenes
    if cell.task == 'detect':
        cfg.val_evaluator.ann_file = scenes.ann_file('val')
        cfg.test_evaluator.ann_file = scenes.ann_file('test')
    return cfg
