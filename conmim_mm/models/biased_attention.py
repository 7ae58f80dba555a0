"""Multi-head attention with a trainable additive bias, for the CPU.

PyTorch's CPU flash kernel gives no gradient for the attention mask, so a
trainable relative position bias sends ``scaled_dot_product_attention`` to
its math fallback. This autograd function computes the same
``softmax(scale * q k^T + bias) v`` from the packed ``qkv`` projection with
fewer (B, H, N, N) and (B, N, 3C) temporaries than the fallback or a chain of
PyTorch ops: the bias is added and the softmax gradient formed in place, and
the gradient of ``qkv`` is written straight into its packed layout instead of
being stacked and permuted back.
"""
from typing import Optional, Tuple

import torch


class _BiasedAttention(torch.autograd.Function):
    """See :func:`biased_attention`."""

    @staticmethod
    @torch.amp.custom_fwd(device_type='cpu')
    def forward(ctx, qkv: torch.Tensor, bias: torch.Tensor, num_heads: int,
                scale: float) -> torch.Tensor:
        batch, length, channels = qkv.shape
        head_dims = channels // (3 * num_heads)
        heads = qkv.reshape(batch, length, 3, num_heads,
                            head_dims).permute(2, 0, 3, 1, 4)
        # (B*H, N, C/H) each, contiguous; the scale goes into the copy of q
        query = (heads[0] * scale).reshape(-1, length, head_dims)
        key = heads[1].reshape(-1, length, head_dims)
        value = heads[2].reshape(-1, length, head_dims)
        scores = torch.bmm(query, key.transpose(1, 2))
        scores.view(batch, num_heads, length, length).add_(bias)
        probs = scores.softmax(dim=-1)
        out = torch.bmm(probs, value)
        ctx.save_for_backward(query, key, value, probs, out)
        ctx.scale, ctx.bias_shape = scale, bias.shape
        return out.view(batch, num_heads, length, head_dims).transpose(
            1, 2).reshape(batch, length, channels // 3)

    @staticmethod
    @torch.amp.custom_bwd(device_type='cpu')
    def backward(ctx, grad_out: torch.Tensor
                 ) -> Tuple[torch.Tensor, Optional[torch.Tensor], None, None]:
        query, key, value, probs, out = ctx.saved_tensors
        batch, length, channels = grad_out.shape
        num_heads = query.shape[0] // batch
        head_dims = channels // num_heads
        grad_heads = grad_out.reshape(batch, length, num_heads,
                                      head_dims).transpose(1, 2).reshape(
                                          -1, length, head_dims)
        grad_probs = torch.bmm(grad_heads, value.transpose(1, 2))
        grad_value = torch.bmm(probs.transpose(1, 2), grad_heads)
        # softmax backward in place, p * (g - sum_j g_j p_j), where
        # sum_j g_j p_j = grad_out_i . out_i (an (N, C/H) product, not N x N)
        row_sums = (grad_heads * out).sum(dim=-1, keepdim=True)
        grad_scores = grad_probs.sub_(row_sums).mul_(probs)
        grad_bias = None
        if ctx.needs_input_grad[1]:
            grad_bias = grad_scores.view(batch, num_heads, length,
                                         length).sum_to_size(ctx.bias_shape)
        grad_qkv = None
        if ctx.needs_input_grad[0]:
            grad_qkv = grad_out.new_empty(batch, length, 3, num_heads,
                                          head_dims)
            packed = grad_qkv.permute(2, 0, 3, 1, 4)  # (3, B, H, N, C/H)
            shape = (batch, num_heads, length, head_dims)
            # the scale as the product's alpha, then one strided copy each
            packed[0].copy_(
                torch.baddbmm(grad_scores.new_empty(query.shape), grad_scores,
                              key, beta=0, alpha=ctx.scale).view(shape))
            packed[1].copy_(
                torch.bmm(grad_scores.transpose(1, 2), query).view(shape))
            packed[2].copy_(grad_value.view(shape))
            grad_qkv = grad_qkv.view(batch, length, 3 * channels)
        return grad_qkv, grad_bias, None, None


def biased_attention(qkv: torch.Tensor, bias: torch.Tensor, num_heads: int,
                     scale: float) -> torch.Tensor:
    """``softmax(scale * q k^T + bias) v`` over all heads, no dropout.

    Args:
        qkv (torch.Tensor): The packed projection (B, N, 3C), laid out as
            (B, N, 3, H, C/H) like BEiT's ``qkv`` linear layer.
        bias (torch.Tensor): Additive bias broadcastable to (B, H, N, N),
            e.g. the (1, H, N, N) relative position bias.
        num_heads (int): Number of heads H.
        scale (float): Factor of the scores, usually ``(C/H) ** -0.5``.

    Returns:
        torch.Tensor: Heads concatenated per token, (B, N, C).
    """
    return _BiasedAttention.apply(qkv, bias, num_heads, scale)
