"""Export the (teacher) backbone of a ConMIM checkpoint for fine-tuning.

Three key layouts, all tensors only:

* ``mmpretrain``: ``backbone.*`` for ``BEiTViT`` (per-block relative
  position bias, the pre-training's shared table copied into every block);
* ``mmseg``: the un-prefixed keys of mmseg's own ``BEiT`` backbone;
* ``timm``: ``timm``'s ``Beit`` (``beit_*_patch16_224``, ``num_classes=0``),
  loadable with ``strict=True``.

Dropped: the projector, the mask token and the pre-training's final norm
(fine-tuning pools patch tokens into a new norm). Relative position tables are
resized to another patch grid with ``torch.nn.functional.interpolate``.
"""
import math
import re
from typing import Dict, Tuple

import torch
import torch.nn.functional as F

from ..errors import CheckpointFormatError

StateDict = Dict[str, torch.Tensor]
LAYOUTS = ('mmpretrain', 'mmseg', 'timm')
_SHARED_TABLE = 'rel_pos_bias.relative_position_bias_table'


def conmim_backbone(state: StateDict, student: bool = False) -> StateDict:
    """The un-prefixed backbone of a ConMIM state dict (teacher by default).

    Args:
        state (dict): ConMIM model state dict (``teacher.backbone.*``,
            ``backbone.*``, ...).
        student (bool): Take the student instead of the teacher.

    Returns:
        dict[str, Tensor]: ``BEiTPretrainViT`` keys without prefix.
    """
    prefix = 'backbone.' if student else 'teacher.backbone.'
    backbone = {k[len(prefix):]: v for k, v in state.items()
                if k.startswith(prefix)}
    expected = ('cls_token', 'patch_embed.projection.weight', _SHARED_TABLE,
                'layers.0.attn.qkv.weight')
    missing = [k for k in expected if k not in backbone]
    if missing:
        raise CheckpointFormatError(
            'not a ConMIM pre-training checkpoint: expected '
            f'{[prefix + k for k in expected]}, missing '
            f'{[prefix + k for k in missing]}')
    return backbone


def table_grid(table: torch.Tensor) -> Tuple[int, int]:
    """Patch grid of a square BEiT relative position table."""
    side = math.isqrt(table.shape[0] - 3)
    if side * side != table.shape[0] - 3 or side % 2 == 0:
        raise CheckpointFormatError(
            f'a relative position table of {table.shape[0]} rows is not '
            '(2h - 1)(2w - 1) + 3 for a square grid')
    return (side + 1) // 2, (side + 1) // 2


def resize_rel_pos_table(table: torch.Tensor,
                         grid: Tuple[int, int]) -> torch.Tensor:
    """Resize a BEiT relative position bias table to another patch grid.

    The ``(2h-1)(2w-1)`` offsets are a 2-D map per head, resized bicubically
    (``torch``, no SciPy); the 3 [CLS] rows are kept.

    Args:
        table (torch.Tensor): ((2h-1)(2w-1) + 3, heads).
        grid (tuple[int, int]): Target patch grid (h', w').

    Returns:
        torch.Tensor: ((2h'-1)(2w'-1) + 3, heads).
    """
    source = table_grid(table)
    if tuple(grid) == source:
        return table
    heads = table.shape[1]
    offsets, cls_rows = table[:-3], table[-3:]
    side = 2 * source[0] - 1
    offsets = offsets.T.reshape(1, heads, side, side).float()
    offsets = F.interpolate(
        offsets, size=(2 * grid[0] - 1, 2 * grid[1] - 1), mode='bicubic',
        align_corners=True)
    offsets = offsets.reshape(heads, -1).T.to(table.dtype)
    return torch.cat([offsets, cls_rows])


def relative_position_index(grid: Tuple[int, int]) -> torch.Tensor:
    """BEiT's index of every (query, key) token pair into the table.

    Args:
        grid (tuple[int, int]): Patch grid (h, w).

    Returns:
        torch.Tensor: (h*w + 1, h*w + 1) long.
    """
    height, width = grid
    coords = torch.stack(
        torch.meshgrid(torch.arange(height), torch.arange(width),
                       indexing='ij')).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    relative[:, :, 0] += height - 1
    relative[:, :, 1] += width - 1
    relative[:, :, 0] *= 2 * width - 1
    size = (2 * height - 1) * (2 * width - 1)
    index = torch.zeros((height * width + 1, ) * 2, dtype=torch.long)
    index[1:, 1:] = relative.sum(-1)
    index[0, :] = size
    index[:, 0] = size + 1
    index[0, 0] = size + 2
    return index


def _per_block(backbone: StateDict, grid: Tuple[int, int]) -> StateDict:
    """mmpretrain ``BEiTViT`` keys: per-block tables, no pre-training parts."""
    table = resize_rel_pos_table(backbone[_SHARED_TABLE], grid)
    index = relative_position_index(grid)
    blocks = sorted({int(m.group(1)) for k in backbone
                     for m in [re.match(r'layers\.(\d+)\.', k)] if m})
    out = {}
    for key, value in backbone.items():
        if key.startswith(('rel_pos_bias.', 'mask_token', 'ln1.')):
            continue
        out[key] = value
    for block in blocks:
        out[f'layers.{block}.attn.relative_position_bias_table'] = \
            table.clone()
        out[f'layers.{block}.attn.relative_position_index'] = index
    return out


_TIMM_RENAMES = [
    (r'^patch_embed\.projection\.', 'patch_embed.proj.'),
    (r'^layers\.(\d+)\.ln1\.', r'blocks.\1.norm1.'),
    (r'^layers\.(\d+)\.ln2\.', r'blocks.\1.norm2.'),
    (r'^layers\.(\d+)\.ffn\.layers\.0\.0\.', r'blocks.\1.mlp.fc1.'),
    (r'^layers\.(\d+)\.ffn\.layers\.1\.', r'blocks.\1.mlp.fc2.'),
    (r'^layers\.(\d+)\.', r'blocks.\1.'),
]


def export_backbone(state: StateDict,
                    layout: str = 'mmpretrain',
                    student: bool = False,
                    grid: Tuple[int, int] = None) -> StateDict:
    """Backbone tensors of a ConMIM checkpoint in a fine-tuning layout.

    Args:
        state (dict): ConMIM model state dict.
        layout (str): ``'mmpretrain'``, ``'mmseg'`` or ``'timm'``.
        student (bool): Export the student instead of the teacher.
        grid (tuple[int, int], optional): Patch grid of the fine-tuning
            input (e.g. (32, 32) for 512 / 16); the pre-training grid when
            None.

    Returns:
        dict[str, Tensor]: The exported state dict.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    backbone = conmim_backbone(state, student)
    grid = grid or table_grid(backbone[_SHARED_TABLE])
    blocks = _per_block(backbone, grid)
    if layout == 'mmpretrain':
        return {'backbone.' + k: v for k, v in blocks.items()}
    if layout == 'mmseg':
        return blocks
    out = {}
    for key, value in blocks.items():
        if key.endswith('relative_position_index'):
            continue  # a non-persistent buffer in timm
        for pattern, replacement in _TIMM_RENAMES:
            key, count = re.subn(pattern, replacement, key)
            if count:
                break
        out[key] = value
    width = backbone['cls_token'].shape[-1]
    out['fc_norm.weight'] = torch.ones(width)  # timm's pooled-feature norm
    out['fc_norm.bias'] = torch.zeros(width)
    return out
