"""Checks of a fine-tuning run from a pre-trained ViT backbone, each one
printed line or one error naming what is wrong (what users get wrong
silently in dense fine-tuning):

- the share of the backbone's parameter tensors loaded from the checkpoint
  (:func:`load_report`, :func:`loaded_by_init`);
- the position tables resized from the pre-training's patch grid to the
  task's (:func:`position_lines`);
- the lr scale of each layer group against BEiT's layer decay rule
  (:func:`lr_scale_line`);
- no SyncBN in a single process (:func:`sync_bn_line`).

:class:`conmim_mm.engine.hooks.FinetuneChecksHook` runs them in a training.
"""
import copy
import math
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from ..checkpoints import load_checkpoint_file, resize_rel_pos_table
from ..checkpoints.export import table_grid
from ..errors import CheckpointFormatError, ConfigError

StateDict = Dict[str, torch.Tensor]
#: The name ending of a BEiT relative position table.
TABLE = 'relative_position_bias_table'
#: Parameters of layer id 0 in BEiT's layer decay rule (with patch_embed).
EMBEDDINGS = ('backbone.cls_token', 'backbone.mask_token',
              'backbone.pos_embed')


def _names(names: Sequence[str], most: int = 8) -> str:
    """``'a, b, c'``, or the first ``most`` and how many more."""
    shown = ', '.join(names[:most])
    more = len(names) - most
    return shown + (f' and {more} more' if more > 0 else '')


def checkpoint_backbone(checkpoint: str, prefix: str) -> StateDict:
    """The tensors of a checkpoint under a prefix, the prefix stripped, as
    mmengine's ``Pretrained`` initialisation takes them.

    Args:
        checkpoint (str): A checkpoint file (``state_dict`` or flat).
        prefix (str): E.g. ``'teacher.backbone.'``.

    Returns:
        dict: Key without prefix -> tensor (empty when nothing matches).
    """
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    state = state.get('state_dict', state)
    prefix = prefix if prefix.endswith('.') else prefix + '.'
    return {k[len(prefix):]: v for k, v in state.items()
            if k.startswith(prefix)}


def checkpoint_prefixes(checkpoint: str) -> List[str]:
    """The prefixes a checkpoint's keys start with, up to ``backbone.``.

    Args:
        checkpoint (str): A checkpoint file.

    Returns:
        list[str]: E.g. ``['backbone.', 'teacher.backbone.']``, sorted; the
        first component of keys without ``backbone.``.
    """
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    prefixes = set()
    for key in state.get('state_dict', state):
        head, found, _ = key.partition('backbone.')
        prefixes.add(head + found if found else key.split('.')[0] + '.')
    return sorted(prefixes)


@dataclass
class LoadReport:
    """What a backbone takes from a checkpoint.

    Args:
        checkpoint (str): The checkpoint file.
        prefix (str): Its prefix of the backbone.
        reference (nn.Module): A copy of the backbone holding the
            checkpoint's tensors (after the backbone's own key mapping and
            resizing) and NaN where the checkpoint has none.
        loaded (list[str]): The backbone's parameter tensors it provides.
        missing (list[str]): Those it does not.
    """

    checkpoint: str
    prefix: str
    reference: nn.Module
    loaded: List[str]
    missing: List[str]

    @property
    def fraction(self) -> float:
        """The share of the backbone's parameter tensors loaded."""
        total = len(self.loaded) + len(self.missing)
        return len(self.loaded) / total if total else 0.

    def line(self) -> str:
        """One line: how many tensors, from where."""
        total = len(self.loaded) + len(self.missing)
        text = (f'backbone: {len(self.loaded)} of {total} parameter tensors '
                f'({100 * self.fraction:.0f} %) loaded from '
                f'{osp.basename(self.checkpoint)} under {self.prefix!r}')
        if self.missing:
            text += f'; missing: {_names(self.missing)}'
        return text


def load_report(backbone: nn.Module, checkpoint: str,
                prefix: str) -> LoadReport:
    """Which parameter tensors of a backbone a checkpoint provides.

    A copy of the backbone, every parameter set to NaN, loads the
    checkpoint's tensors under ``prefix`` through its own
    ``load_state_dict`` (so the backbone's key mapping and resizing hooks
    run); a tensor still all NaN was not provided (or had a shape the
    backbone could not take).

    Args:
        backbone (nn.Module): The backbone (not changed).
        checkpoint (str): The checkpoint file.
        prefix (str): The backbone's prefix in it (``init_cfg.prefix``).

    Returns:
        LoadReport: The loaded and missing tensors.
    """
    reference = copy.deepcopy(backbone)
    with torch.no_grad():
        for param in reference.parameters():
            param.fill_(math.nan)
    state = checkpoint_backbone(checkpoint, prefix)
    try:
        reference.load_state_dict(state, strict=False)
    except RuntimeError:
        pass  # shapes it could not take stay NaN: reported missing
    loaded, missing = [], []
    for name, param in reference.named_parameters():
        (missing if torch.isnan(param).all() else loaded).append(name)
    return LoadReport(checkpoint, prefix, reference, loaded, missing)


def check_loaded(report: LoadReport, minimum: float) -> str:
    """:meth:`LoadReport.line`, or an error below ``minimum``.

    Args:
        report (LoadReport): From :func:`load_report`.
        minimum (float): The least share of tensors loaded, e.g. 0.95.

    Returns:
        str: The line.

    Raises:
        CheckpointFormatError: Less than ``minimum`` loaded; the line names
            the missing tensors and the checkpoint's prefixes.
    """
    if report.fraction >= minimum:
        return report.line()
    raise CheckpointFormatError(
        f'{report.line()} (at least {100 * minimum:.0f} % expected; the '
        'checkpoint\'s prefixes: '
        f'{", ".join(checkpoint_prefixes(report.checkpoint))})')


def loaded_by_init(backbone: nn.Module, report: LoadReport) -> None:
    """Check that the backbone holds the checkpoint's tensors after its
    initialisation.

    Args:
        backbone (nn.Module): The initialised backbone.
        report (LoadReport): Its :func:`load_report`, made before.

    Raises:
        CheckpointFormatError: Tensors the checkpoint provides that the
            initialisation did not load (e.g. ``init_cfg`` replaced).
    """
    reference = dict(report.reference.named_parameters())
    differ = [
        name for name, param in backbone.named_parameters()
        if name in report.loaded and not torch.equal(param, reference[name])
    ]
    if differ:
        raise CheckpointFormatError(
            f'backbone: {len(differ)} parameter tensors the checkpoint '
            f'{osp.basename(report.checkpoint)} provides were not loaded by '
            f'the initialisation: {_names(differ)}')


def _grid(grid: Sequence[int]) -> str:
    return f'{grid[0]}x{grid[1]}'


def position_lines(backbone: nn.Module, state: StateDict) -> List[str]:
    """Check the position tables against the checkpoint's.

    Every relative position table of the backbone must be the checkpoint's
    table of its block (or the shared one) resized bicubically from the
    checkpoint's grid to the backbone's (:func:`resize_rel_pos_table`); an
    absolute position embedding's grid is reported.

    Args:
        backbone (nn.Module): The initialised backbone (mmpretrain ViT, its
            ``patch_resolution`` the task's grid).
        state (dict): The checkpoint's tensors under the backbone's prefix
            (:func:`checkpoint_backbone`).

    Returns:
        list[str]: A line per kind of position parameter found in both.

    Raises:
        CheckpointFormatError: A table that is not the checkpoint's resized.
    """
    grid = tuple(backbone.patch_resolution)
    own = dict(backbone.named_parameters())
    tables = [name for name in own if name.endswith(TABLE)]
    shared = state.get(f'rel_pos_bias.{TABLE}')
    lines = []
    if tables and (shared is not None or tables[0] in state):
        source = shared if shared is not None else state[tables[0]]
        for name in tables:
            table = state.get(name, shared)
            expected = resize_rel_pos_table(table, grid)
            if (own[name].shape != expected.shape or not torch.allclose(
                    own[name].detach(), expected, atol=1e-5)):
                raise CheckpointFormatError(
                    f'relative position table {name} is not the '
                    f"checkpoint's {_grid(table_grid(table))} table resized "
                    f'to the {_grid(grid)} patch grid')
        verb = 'resized' if table_grid(source) != grid else 'kept'
        lines.append(
            f'relative position tables: {len(tables)} {verb} from the '
            f'{_grid(table_grid(source))} grid ({source.shape[0]} rows) to '
            f'the {_grid(grid)} grid ({own[tables[0]].shape[0]} rows)')
    if 'pos_embed' in own and 'pos_embed' in state:
        extra = own['pos_embed'].shape[1] - grid[0] * grid[1]
        side = math.isqrt(state['pos_embed'].shape[1] - extra)
        lines.append(
            f'position embedding: {state["pos_embed"].shape[1]} tokens '
            f'({side}x{side} grid) to {own["pos_embed"].shape[1]} tokens '
            f'({_grid(grid)} grid)')
    return lines


def layer_id(name: str, num_layers: int) -> int:
    """A parameter's layer id in BEiT's layer decay rule (mmseg's
    ``get_layer_id_for_vit``).

    Args:
        name (str): The parameter's name in the model (``backbone.*``).
        num_layers (int): The backbone's blocks.

    Returns:
        int: 0 for the embeddings, ``i + 1`` for block ``i``,
        ``num_layers + 1`` for everything else.
    """
    if name in EMBEDDINGS or name.startswith('backbone.patch_embed'):
        return 0
    if name.startswith('backbone.layers.'):
        return int(name.split('.')[2]) + 1
    return num_layers + 1


def _group(layer: int, num_layers: int) -> str:
    if layer == 0:
        return 'embeddings'
    return f'layers.{layer - 1}' if layer <= num_layers else 'the rest'


def lr_scale_line(optimizer: torch.optim.Optimizer, model: nn.Module,
                  num_layers: int, rate: float) -> str:
    """The lr scale of each layer group, checked against BEiT's rule.

    A parameter's scale is its group's configured lr (``initial_lr`` when a
    scheduler has set one) over the optimizer's; BEiT's rule gives
    ``rate ** (num_layers + 1 - layer_id)`` (:func:`layer_id`).

    Args:
        optimizer (torch.optim.Optimizer): The built optimizer.
        model (nn.Module): Its model (``backbone.*`` parameter names).
        num_layers (int): The backbone's blocks.
        rate (float): The layer decay rate.

    Returns:
        str: ``lr scales (layer decay R): embeddings .., layers.0 .., ...,
        the rest 1``.

    Raises:
        ConfigError: A parameter whose scale differs from the rule.
    """
    names = {id(p): name for name, p in model.named_parameters()}
    base = optimizer.defaults['lr']
    scales: Dict[str, float] = {}
    for group in optimizer.param_groups:
        scale = group.get('initial_lr', group['lr']) / base
        for param in group['params']:
            name = names[id(param)]
            layer = layer_id(name, num_layers)
            expected = rate**(num_layers + 1 - layer)
            if not math.isclose(scale, expected, rel_tol=1e-6):
                raise ConfigError(
                    f'layer decay: {name} has lr scale {scale:.3g}, BEiT\'s '
                    f'rule with decay {rate:g} gives {expected:.3g} '
                    f'({_group(layer, num_layers)})')
            scales[_group(layer, num_layers)] = scale
    order = ['embeddings'] + [f'layers.{i}' for i in range(num_layers)]
    shown = [g for g in order + ['the rest'] if g in scales]
    return f'lr scales (layer decay {rate:g}): ' + ', '.join(
        f'{group} {round(scales[group], 4):g}' for group in shown)


def sync_bn_line(model: nn.Module, world_size: int) -> str:
    """Check that a single process has no SyncBN (torch's or mmcv's
    ``SyncBatchNorm``; conmim_mm's ``PortableSyncBatchNorm`` is a plain
    batch norm in one process).

    Args:
        model (nn.Module): The model.
        world_size (int): The number of processes.

    Returns:
        str: How many batch norms, and none synchronised (or, with several
        processes, how many are).

    Raises:
        ConfigError: SyncBN layers in a single process; the line names them.
    """
    sync, batch_norms = [], 0
    for name, module in model.named_modules():
        kinds = [cls.__name__ for cls in type(module).__mro__]
        if any('BatchNorm' in kind for kind in kinds):
            batch_norms += 1
            if 'SyncBatchNorm' in kinds:  # torch's or mmcv's
                sync.append(name)
    if sync and world_size == 1:
        raise ConfigError(
            f'SyncBN in a single process: {_names(sync)} (norm_cfg='
            "dict(type='BN', requires_grad=True) for one process)")
    if sync:
        return (f'batch norms: {batch_norms}, {len(sync)} synchronised '
                f'over {world_size} processes')
    return f'batch norms: {batch_norms}, no SyncBN ({world_size} process' + (
        'es)' if world_size > 1 else ')')


def backbone_checkpoint(backbone: nn.Module) -> Optional[tuple]:
    """The checkpoint and prefix of a backbone's ``Pretrained`` init_cfg.

    Args:
        backbone (nn.Module): An mmengine ``BaseModule``.

    Returns:
        tuple | None: ``(checkpoint, prefix)``; None without a
        ``Pretrained`` init_cfg (a random initialisation).
    """
    init_cfg = getattr(backbone, 'init_cfg', None)
    if not isinstance(init_cfg, dict) or init_cfg.get('type') != 'Pretrained':
        return None
    return init_cfg['checkpoint'], init_cfg.get('prefix', '')
