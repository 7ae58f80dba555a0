"""BEiT attention through ``scaled_dot_product_attention``."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmpretrain.models.utils.attention import BEiTAttention

from .biased_attention import biased_attention


class SDPABEiTAttention(BEiTAttention):
    """mmpretrain's ``BEiTAttention`` computed by
    ``torch.nn.functional.scaled_dot_product_attention``.

    The relative position biases (the layer's own table and/or the shared
    one) become the additive attention mask, so PyTorch picks a fused kernel
    (flash attention with bias on CPU, memory-efficient attention on CUDA)
    instead of materialising the (B, H, N, N) scores for softmax and again
    for the backward. Parameters, buffers and state-dict keys are those of
    ``BEiTAttention``; the outputs equal its outputs up to float rounding.

    On CPU, when the bias needs a gradient (training) and there is no
    attention dropout, :func:`~conmim_mm.models.biased_attention.biased_attention`
    computes it instead: PyTorch's CPU flash kernel gives no gradient for
    the mask, and the math fallback ``scaled_dot_product_attention`` would
    take is slower (ViT-S/16, batch 8, forward and backward of one block's
    attention: about 12 ms against 10 ms). Without a bias gradient (the
    teacher) the CPU flash kernel is the fastest (3.0 ms per block against
    3.9 ms for an explicit matmul-softmax-matmul). CUDA's memory-efficient
    kernel gives the bias its gradient, so CUDA always takes SDPA.
    """

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
        dropout = self.attn_drop.p if self.training else 0.
        if (x.device.type == 'cpu' and bias is not None and dropout == 0
                and bias.requires_grad and torch.is_grad_enabled()):
            # the query and value biases go in with the head copies
            if self.bias == 'qv_bias':
                qkv = F.linear(x, self.qkv.weight)
                q_bias = self.q_bias.to(qkv.dtype)
                v_bias = self.v_bias.to(qkv.dtype)
            else:
                qkv, q_bias, v_bias = self.qkv(x), None, None
            x = biased_attention(qkv, bias.unsqueeze(0).to(qkv.dtype),
                                 self.num_heads, self.scale, q_bias, v_bias)
            return self.proj_drop(self.proj(x))
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
            *qkv.unbind(0), attn_mask=bias, dropout_p=dropout,
            scale=self.scale)
        x = x.transpose(1, 2).reshape(batch, length, channels)
        return self.proj_drop(self.proj(x))
