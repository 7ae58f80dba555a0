"""BEiT backbones with fused attention, checkpointing and compilation.

``FastBEiTPretrainViT`` and ``FastBEiTViT`` are mmpretrain's
``BEiTPretrainViT`` (pre-training) and ``BEiTViT`` (fine-tuning) with three
config options: the attention kernel, activation checkpointing and
``torch.compile`` of the blocks. They hold the same parameters under the
same state-dict keys, so checkpoints move freely between the stock and the
fast classes.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones.beit import (BEiTTransformerEncoderLayer,
                                              BEiTViT)
from mmpretrain.models.selfsup.beit import BEiTPretrainViT
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.registry import MODELS
from torch.utils.checkpoint import checkpoint

from ..config_check import ConfigError
from .masked_patch_embed import embed_visible_patches
from .scaled_residual import scaled_residual
from .sdpa_attention import SDPABEiTAttention

ATTENTIONS = {'stock': None, 'sdpa': SDPABEiTAttention}


class FastBEiTLayer(BEiTTransformerEncoderLayer):
    """A BEiT transformer block with one-op layer-scale residuals and
    optional activation checkpointing.

    With ``fused_residual`` set, ``x + gamma * f(x)`` is one op
    (:func:`~conmim_mm.models.scaled_residual.scaled_residual`) instead of a
    multiply and an add, each writing a (B, N, C) tensor, wherever drop path
    is off (its rate is 0 or the block is in eval mode); otherwise the block
    computes as mmpretrain's. With ``with_cp`` set and gradients needed, the
    block's activations are recomputed in the backward pass
    (``torch.utils.checkpoint``).
    """

    with_cp = False
    fused_residual = True

    def init_weights(self) -> None:
        """Leave the feed-forward layers to the backbone's ``init_cfg``.

        mmpretrain's block re-draws them after the backbone's ``init_cfg``
        ran (Xavier-uniform weights, N(0, 1e-6) biases). BEiT and the
        official ConMIM code initialise every linear layer of the block
        alike (our pre-training configs: ``TruncNormal``, std 0.02
        truncated to [-0.02, 0.02], zero bias), which this keeps.
        """
        BaseModule.init_weights(self)

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
                self._block, x, rel_pos_bias, use_reentrant=False)
        return self._block(x, rel_pos_bias)

    def _block(self, x: torch.Tensor,
               rel_pos_bias: Optional[torch.Tensor]) -> torch.Tensor:
        """The block's computation (see :meth:`forward`)."""
        drop_path_off = not self.training or getattr(
            self.drop_path, 'drop_prob', 0.) == 0
        if not (self.fused_residual and drop_path_off
                and self.gamma_1 is not None):
            return super().forward(x, rel_pos_bias)
        x = scaled_residual(
            x, self.gamma_1, self.attn(self.ln1(x), rel_pos_bias=rel_pos_bias))
        return scaled_residual(x, self.gamma_2,
                               self._feed_forward(self.ln2(x)))

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        """``self.ffn(x)`` without mmcv's deprecated-argument check, which
        inspects the signature of ``FFN.forward`` on every call."""
        ffn = self.ffn
        if ffn.add_identity:
            return ffn(x)
        return ffn.dropout_layer(ffn.gamma2(ffn.layers(x)))


def speed_up_layers(layers: nn.ModuleList, attention: str, with_cp: bool,
                    compile_blocks: bool) -> None:
    """Switch BEiT blocks to ``attention``, optional checkpointing and
    optional ``torch.compile``.

    The blocks keep their parameters; only the classes of the block and its
    attention change (neither adds state), so checkpoints move freely
    between the stock and the fast blocks. The fast block leaves its MLP to
    the backbone's ``init_cfg`` (see :meth:`FastBEiTLayer.init_weights`).

    Args:
        layers (nn.ModuleList): ``BEiTTransformerEncoderLayer`` blocks.
        attention (str): ``'sdpa'`` (``scaled_dot_product_attention``,
            fused residuals) or ``'stock'`` (mmpretrain's arithmetic:
            matmul-softmax-matmul, multiply-then-add residuals).
        with_cp (bool): Recompute each block's activations in the backward.
        compile_blocks (bool): ``torch.compile`` every block (one compiled
            graph serves all blocks of one shape).
    """
    if attention not in ATTENTIONS:
        raise ConfigError(f'backbone.attention must be one of '
                          f'{sorted(ATTENTIONS)}, got {attention!r}')
    for layer in layers:
        layer.__class__ = FastBEiTLayer
        layer.with_cp = with_cp
        layer.fused_residual = attention != 'stock'
        if ATTENTIONS[attention] is not None:
            layer.attn.__class__ = ATTENTIONS[attention]
        if compile_blocks:
            layer.compile()


class FastLayersMixin:
    """Adds ``attention``, ``with_cp`` and ``compile_blocks`` to a BEiT
    backbone class (see :func:`speed_up_layers`).

    Args:
        attention (str): ``'sdpa'`` or ``'stock'`` (mmpretrain's arithmetic
            throughout: see :func:`speed_up_layers`; the pre-training
            backbone also keeps its convolution for masked patches).
            Defaults to ``'sdpa'``.
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
        self.attention = attention


@MODELS.register_module()
class FastBEiTPretrainViT(FastLayersMixin, BEiTPretrainViT):
    """``BEiTPretrainViT`` (pre-training) with selectable attention,
    checkpointing and compilation; arguments as :class:`FastLayersMixin`.

    The cls and mask tokens start as in the official BEiT/ConMIM
    pre-training code: normal with std 0.02 truncated to [-0.02, 0.02]
    (mmpretrain truncates at +-2, 100 standard deviations). On CPU, unless
    ``attention='stock'``, the masked forward embeds the visible patches only
    (:func:`~conmim_mm.models.masked_patch_embed.embed_visible_patches`);
    on GPUs it keeps the convolution, whose cost there is negligible, and
    avoids the host synchronisation that gathering a variable number of
    patches would need.
    """

    def init_weights(self) -> None:
        """mmpretrain's initialisation, then the tokens as above (unless
        the ``init_cfg`` loads a checkpoint)."""
        super().init_weights()
        if (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            return
        for token in (self.cls_token, self.mask_token):
            trunc_normal_(token, std=0.02, a=-0.02, b=0.02)

    def forward(self, x: torch.Tensor,
                mask: Optional[torch.Tensor]) -> Tuple[torch.Tensor]:
        """As ``BEiTPretrainViT.forward``.

        Args:
            x (torch.Tensor): Images (B, 3, H, W).
            mask (torch.Tensor, optional): (B, H/p, W/p), True where the
                patch is replaced by the mask token; None for plain
                features.

        Returns:
            tuple[torch.Tensor]: The outputs of ``out_indices``.
        """
        embedded = None
        if (mask is not None and x.device.type == 'cpu'
                and self.attention != 'stock'):
            embedded = embed_visible_patches(self.patch_embed,
                                             self.mask_token, x, mask)
        if embedded is None:
            return super().forward(x, mask)
        x, patch_resolution = embedded
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        if self.pos_embed is not None:
            x = x + resize_pos_embed(
                self.pos_embed,
                self.patch_resolution,
                patch_resolution,
                mode=self.interpolate_mode,
                num_extra_tokens=self.num_extra_tokens)
        x = self.drop_after_pos(x)
        self.shared_rel_pos_bias = (
            None if self.rel_pos_bias is None else self.rel_pos_bias())
        outs = []
        for index, layer in enumerate(self.layers):
            x = layer(x, rel_pos_bias=self.shared_rel_pos_bias)
            if index == len(self.layers) - 1 and self.final_norm:
                x = self.norm1(x)
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)


@MODELS.register_module()
class FastBEiTViT(FastLayersMixin, BEiTViT):
    """``BEiTViT`` (fine-tuning) with selectable attention, checkpointing
    and compilation; arguments as :class:`FastLayersMixin`."""
