"""BEiT backbones with fused attention, checkpointing and compilation.

``FastBEiTPretrainViT`` and ``FastBEiTViT`` are mmpretrain's
``BEiTPretrainViT`` (pre-training) and ``BEiTViT`` (fine-tuning) with three
config options: the attention kernel, activation checkpointing and
``torch.compile`` of the blocks. They hold the same parameters under the
same state-dict keys, so checkpoints move freely between the stock and the
fast classes.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmpretrain.models.backbones.beit import (BEiTTransformerEncoderLayer,
                                              BEiTViT)
from mmpretrain.models.selfsup.beit import BEiTPretrainViT
from mmpretrain.registry import MODELS
from torch.utils.checkpoint import checkpoint

from ..config_check import ConfigError
from .sdpa_attention import SDPABEiTAttention

ATTENTIONS = {'stock': None, 'sdpa': SDPABEiTAttention}


class CheckpointedBEiTLayer(BEiTTransformerEncoderLayer):
    """A BEiT transformer block whose activations are recomputed in the
    backward pass (``torch.utils.checkpoint``) when ``with_cp`` is set and
    gradients are needed."""

    with_cp = False

    def forward(self, x: torch.Tensor,
                rel_pos_bias: Optional[torch.Tensor]) -> torch.Tensor:
        """Apply the block.

        Args:
            x (torch.Tensor): Tokens (B, N, C).
            rel_pos_bias (torch.Tensor, optional): Shared bias (H, N, N).

        Returns:
            torch.Tensor: (B, N, C).
        """
        if self.with_cp and torch.is_grad_enabled() and x.requires_grad:
            return checkpoint(
                super().forward, x, rel_pos_bias, use_reentrant=False)
        return super().forward(x, rel_pos_bias)


def speed_up_layers(layers: nn.ModuleList, attention: str, with_cp: bool,
                    compile_blocks: bool) -> None:
    """Switch BEiT blocks to ``attention``, optional checkpointing and
    optional ``torch.compile``.

    The blocks keep their parameters; only the classes of the block and its
    attention change (neither adds state), so weights, initialisation and
    the random stream stay those of the stock backbone.

    Args:
        layers (nn.ModuleList): ``BEiTTransformerEncoderLayer`` blocks.
        attention (str): ``'sdpa'`` (``scaled_dot_product_attention``) or
            ``'stock'`` (mmpretrain's matmul-softmax-matmul).
        with_cp (bool): Recompute each block's activations in the backward.
        compile_blocks (bool): ``torch.compile`` every block (one compiled
            graph serves all blocks of one shape).
    """
    if attention not in ATTENTIONS:
        raise ConfigError(f'backbone.attention must be one of '
                          f'{sorted(ATTENTIONS)}, got {attention!r}')
    for layer in layers:
        layer.__class__ = CheckpointedBEiTLayer
        layer.with_cp = with_cp
        if ATTENTIONS[attention] is not None:
            layer.attn.__class__ = ATTENTIONS[attention]
        if compile_blocks:
            layer.compile()


class FastLayersMixin:
    """Adds ``attention``, ``with_cp`` and ``compile_blocks`` to a BEiT
    backbone class (see :func:`speed_up_layers`).

    Args:
        attention (str): ``'sdpa'`` or ``'stock'``. Defaults to ``'sdpa'``.
        with_cp (bool): Activation checkpointing of every transformer block.
            Defaults to False.
        compile_blocks (bool): ``torch.compile`` every transformer block.
            Defaults to False.
        **kwargs: The backbone's own arguments.
    """

    def __init__(self, attention: str = 'sdpa', with_cp: bool = False,
                 compile_blocks: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        speed_up_layers(self.layers, attention, with_cp, compile_blocks)


@MODELS.register_module()
class FastBEiTPretrainViT(FastLayersMixin, BEiTPretrainViT):
    """``BEiTPretrainViT`` (pre-training) with selectable attention,
    checkpointing and compilation; arguments as :class:`FastLayersMixin`."""


@MODELS.register_module()
class FastBEiTViT(FastLayersMixin, BEiTViT):
    """``BEiTViT`` (fine-tuning) with selectable attention, checkpointing
    and compilation; arguments as :class:`FastLayersMixin`."""
