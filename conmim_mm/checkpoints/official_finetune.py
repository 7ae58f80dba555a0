"""Official ConMIM fine-tuned classifiers <-> mmpretrain ``ImageClassifier``.

Official (github TencentARC/ConMIM ``modeling_finetune.py``, trained by
``run_class_finetuning.py``; the four released ImageNet-1K models): a BEiT
``VisionTransformer`` with a relative position bias table per block
(``blocks.i.attn.relative_position_bias_table``), layer scale
(``blocks.i.gamma_1``/``gamma_2``), q/v biases, no absolute position
embedding, mean-pooled patch tokens into ``fc_norm`` and a linear ``head``;
saved as ``{'model': state_dict, 'optimizer', 'epoch', 'scaler', 'args'}``,
or under ``module`` by DeepSpeed. Ours: the classifier of
``configs/downstream/imagenet/vit-{s,b,l}_ft-100e.py`` (``ConMIMBEiTViT`` =
mmpretrain's ``BEiTViT`` with ``out_type='avg_featmap'``, whose pooled norm
is ``backbone.ln2``, and ``LinearClsHead``'s ``head.fc``).

The tensors are the same; only the names differ, plus, on request, the
relative position tables resized to another input size.
"""
import re
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch

from ..errors import CheckpointFormatError
from .export import relative_position_index, resize_rel_pos_table, table_grid
from .loading import load_checkpoint_file
from .official import VIT_PREFIXES, prefix_rules, rename_key

StateDict = Dict[str, torch.Tensor]

# (official, ours) key prefixes of a classifier; tried in order.
_PREFIXES: List[Tuple[str, str]] = VIT_PREFIXES + [
    ('fc_norm.', 'backbone.ln2.'),
    ('head.', 'head.fc.'),
]

#: Keys every official fine-tuned classifier has.
REQUIRED_OFFICIAL = ('cls_token', 'patch_embed.proj.weight',
                     'blocks.0.attn.qkv.weight',
                     'blocks.0.attn.relative_position_bias_table',
                     'fc_norm.weight', 'head.weight')
#: Where ``run_class_finetuning.py`` looks for the state dict (its
#: ``--model_key`` default), in order.
MODEL_KEYS = ('model', 'module')
#: Token width -> our fine-tuning config of that size.
CONFIGS = {
    384: 'configs/downstream/imagenet/vit-s_ft-100e.py',
    768: 'configs/downstream/imagenet/vit-b_ft-100e.py',
    1024: 'configs/downstream/imagenet/vit-l_ft-100e.py',
}
_TABLE = 'relative_position_bias_table'
_INDEX = 'relative_position_index'


_TO_OURS = prefix_rules(_PREFIXES, 0)
_TO_OFFICIAL = prefix_rules(_PREFIXES, 1)


def _rename(key: str, rules: List[Tuple[str, str]], what: str) -> str:
    new_key = rename_key(key, rules)
    if new_key is None:
        raise CheckpointFormatError(f'unexpected key {key!r} in {what}')
    return new_key


class FinetuneArch(NamedTuple):
    """The architecture of a fine-tuned classifier, read from its tensors.

    Attributes:
        embed_dims (int): Token width.
        num_layers (int): Transformer blocks.
        num_heads (int): Attention heads (columns of the position tables).
        feedforward_channels (int): Hidden width of the MLPs.
        grid (tuple[int, int]): Patch grid of the relative position tables.
        patch_size (int): Side of a patch in pixels.
        num_classes (int): Rows of the head.
    """
    embed_dims: int
    num_layers: int
    num_heads: int
    feedforward_channels: int
    grid: Tuple[int, int]
    patch_size: int
    num_classes: int

    @property
    def img_size(self) -> int:
        """Input side in pixels."""
        return self.grid[0] * self.patch_size

    @property
    def config(self) -> Optional[str]:
        """Our fine-tuning config of this width (None for other widths)."""
        return CONFIGS.get(self.embed_dims)

    def describe(self) -> str:
        """One line: blocks, width, heads, classes, input size."""
        return (f'ViT/{self.patch_size} with {self.num_layers} blocks, '
                f'{self.embed_dims} wide, {self.num_heads} heads, '
                f'{self.num_classes} classes, {self.img_size}x'
                f'{self.img_size} input')


def official_finetune_arch(state: StateDict) -> FinetuneArch:
    """Read the architecture of an official fine-tuned state dict.

    Args:
        state (dict): Official ``modeling_finetune`` state dict.

    Returns:
        FinetuneArch: Its sizes.
    """
    blocks = {int(m.group(1)) for k in state
              for m in [re.match(r'blocks\.(\d+)\.', k)] if m}
    table = state[f'blocks.0.attn.{_TABLE}']
    return FinetuneArch(
        embed_dims=state['cls_token'].shape[-1], num_layers=len(blocks),
        num_heads=table.shape[1],
        feedforward_channels=state['blocks.0.mlp.fc1.weight'].shape[0],
        grid=table_grid(table),
        patch_size=state['patch_embed.proj.weight'].shape[-1],
        num_classes=state['head.weight'].shape[0])


def official_finetune_state(checkpoint: object, path: str) -> StateDict:
    """The model state dict of an official fine-tuning checkpoint, checked.

    Args:
        checkpoint (object): A loaded checkpoint: ``{'model': ...}`` as
            ``run_class_finetuning.py`` saves it, ``{'module': ...}`` as
            DeepSpeed saves it, or the bare state dict.
        path (str): Its file name, for error messages.

    Returns:
        dict[str, Tensor]: The classifier's state dict.

    Raises:
        CheckpointFormatError: If the required keys are missing; the message
            names them.
    """
    state = checkpoint if isinstance(checkpoint, dict) else {}
    for key in MODEL_KEYS:
        if isinstance(state.get(key), dict):
            state = state[key]
            break
    missing = [k for k in REQUIRED_OFFICIAL if k not in state]
    if missing:
        hint = ''
        if 'rel_pos_bias.relative_position_bias_table' in state:
            hint = (' (this is a pre-training checkpoint: convert it with '
                    'tools/model_converters/official2conmim.py)')
        raise CheckpointFormatError(
            f'{path} is not an official ConMIM fine-tuned classifier: '
            f'expected a `model` or `module` dict with keys '
            f'{list(REQUIRED_OFFICIAL)}, missing {missing}{hint}')
    return state


class _ArgsRecord:
    """Stand-in for the ``argparse.Namespace`` the official scripts save
    under ``args``: unpickling fills its ``__dict__``; no code runs."""


def load_official_finetune(path: str) -> StateDict:
    """Load an official fine-tuning checkpoint, weights only.

    The weights-only unpickler rebuilds tensors and plain data, and the
    saved ``args`` as an inert record (nothing else is allowed).

    Args:
        path (str): ``checkpoint-N.pth`` of ``run_class_finetuning.py`` (or
            DeepSpeed's ``mp_rank_00_model_states.pt``).

    Returns:
        dict[str, Tensor]: The classifier's state dict.

    Raises:
        CheckpointFormatError: If the file is not such a checkpoint.
        UnsafeCheckpointError: If it holds other objects.
    """
    with torch.serialization.safe_globals([(_ArgsRecord,
                                            'argparse.Namespace')]):
        checkpoint = load_checkpoint_file(path, map_location='cpu')
    return official_finetune_state(checkpoint, path)


def _resize_tables(state: StateDict, grid: Tuple[int, int]) -> StateDict:
    """Every relative position table resized to ``grid`` (torch bicubic),
    with the index for ``grid``."""
    index = relative_position_index(grid)
    out = {}
    for key, value in state.items():
        if key.endswith(_TABLE):
            value = resize_rel_pos_table(value, grid)
        elif key.endswith(_INDEX):
            value = index
        out[key] = value
    return out


def official_ft_to_mmpretrain(state: StateDict,
                              img_size: Optional[int] = None) -> StateDict:
    """Official fine-tuned state dict -> our classifier's state dict.

    Args:
        state (dict): Official ``modeling_finetune`` state dict.
        img_size (int, optional): Input size of the target classifier; the
            tables are resized to its patch grid (the checkpoint's input
            size when None).

    Returns:
        dict[str, Tensor]: ``backbone.*`` and ``head.fc.*`` entries that
        load strictly into ``configs/downstream/imagenet/vit-*_ft-100e.py``
        (with ``model.backbone.img_size=img_size``).

    Raises:
        CheckpointFormatError: For a key the classifier does not have (an
            absolute position embedding, a shared table, a final norm).
    """
    converted = {
        _rename(k, _TO_OURS, 'an official fine-tuned checkpoint'): v
        for k, v in state.items()
    }
    if img_size is not None:
        arch = official_finetune_arch(state)
        if img_size != arch.img_size:
            side = img_size // arch.patch_size
            converted = _resize_tables(converted, (side, side))
    return converted


def mmpretrain_to_official_ft(state: StateDict) -> StateDict:
    """Our classifier's state dict -> the official fine-tuned state dict.

    Args:
        state (dict): State dict of the classifier of
            ``configs/downstream/imagenet/vit-*_ft-100e.py``.

    Returns:
        dict[str, Tensor]: Keys of the official ``VisionTransformer`` (built
        with ``use_mean_pooling=True``, ``use_rel_pos_bias=True``), which
        loads them strictly.

    Raises:
        CheckpointFormatError: For a key the official classifier does not
            have, or a state dict without a classification head.
    """
    if 'head.fc.weight' not in state:
        raise CheckpointFormatError(
            'not a fine-tuned classifier: no head.fc.weight (expected the '
            'state dict of configs/downstream/imagenet/vit-*_ft-100e.py)')
    return {
        _rename(k, _TO_OFFICIAL, 'a fine-tuned classifier checkpoint'): v
        for k, v in state.items()
    }
