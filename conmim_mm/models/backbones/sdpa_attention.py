"""BEiT attention through ``scaled_dot_product_attention``."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmpretrain.models.utils.attention import BEiTAttention


class SDPABEiTAttention(BEiTAttention):
    """mmpretrain's ``BEiTAttention`` computed by
    ``torch.nn.functional.scaled_dot_product_attention``.

    The relative position biases (the layer's own table and/or the shared
    one) become the additive attention mask, so PyTorch picks a fused kernel
    (memory-efficient attention on CUDA, which also gives the bias its
    gradient) instead of materialising the (B, H, N, N) scores for softmax
    and again for the backward. Parameters, buffers and state-dict keys are
    those of ``BEiTAttention``; the outputs equal its outputs up to float
    rounding. Arguments as ``BEiTAttention``.
    """

    @classmethod
    def from_attention(cls, attention: BEiTAttention) -> 'SDPABEiTAttention':
        """A new ``SDPABEiTAttention`` with the settings and weights of
        ``attention``.

        Args:
            attention (BEiTAttention): The module to replace.

        Returns:
            SDPABEiTAttention: Same shapes, same state dict, the same
            parameters frozen (``requires_grad``) and the same train/eval
            mode.
        """
        table = attention.relative_position_bias_table
        new = cls(
            embed_dims=attention.embed_dims,
            num_heads=attention.num_heads,
            window_size=attention.window_size,
            use_rel_pos_bias=table is not None,
            bias=attention.bias,
            qk_scale=attention.scale,
            attn_drop_rate=attention.attn_drop.p,
            proj_drop_rate=attention.proj_drop.p,
            init_cfg=attention.init_cfg)
        new.load_state_dict(attention.state_dict())
        frozen = {name for name, param in attention.named_parameters()
                  if not param.requires_grad}
        for name, param in new.named_parameters():
            param.requires_grad_(name not in frozen)
        new.train(attention.training)
        return new.to(attention.qkv.weight.device)

    def forward(self, x: torch.Tensor,
                rel_pos_bias: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Multi-head self-attention with relative position bias.

        Args:
            x (torch.Tensor): Tokens (B, N, C).
            rel_pos_bias (torch.Tensor, optional): Shared relative position
                bias (H, N, N).

        Returns:
            torch.Tensor: (B, N, C).
        """
        batch, length, channels = x.shape
        bias = rel_pos_bias
        if self.relative_position_bias_table is not None:
            height, width = self.window_size
            tokens = height * width + 1
            own = self.relative_position_bias_table[
                self.relative_position_index.view(-1)].view(
                    tokens, tokens, -1).permute(2, 0, 1)
            bias = own if bias is None else own + bias
        if self.bias == 'qv_bias':
            qkv_bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias),
                                  self.v_bias))
            qkv = F.linear(x, self.qkv.weight, qkv_bias)
        else:
            qkv = self.qkv(x)
        if bias is not None:
            # (1, H, N, N), in the dtype of q under autocast
            bias = bias.unsqueeze(0).to(qkv.dtype)
        # (3, B, H, N, C/H)
        qkv = qkv.reshape(batch, length, 3, self.num_heads,
                          -1).permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(
            *qkv.unbind(0),
            attn_mask=bias,
            dropout_p=self.attn_drop.p if self.training else 0.,
            scale=self.scale)
        x = x.transpose(1, 2).reshape(batch, length, channels)
        return self.proj_drop(self.proj(x))
