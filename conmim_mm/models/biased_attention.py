"""Multi-head attention with a trainable additive bias, for the CPU.

PyTorch's CPU flash kernel gives no gradient for the attention mask, so a
trainable relative position bias sends ``scaled_dot_product_attention`` to
its math fallback. This autograd function computes the same
``softmax(scale * q k^T + bias) v`` from the packed ``qkv`` projection with
fewer (B, H, N, N) and (B, N, 3C) temporaries than the fallback or a chain of
PyTorch ops: the bias is added and the softmax gradient formed in place, the
query and value biases are added while the heads are copied out of the packed
projection (so the projection itself needs no bias), and the gradient of
``qkv`` is written straight into its packed layout instead of being stacked
and permuted back.
"""
from typing import Optional, Tuple

import torch


def _head_copy(heads: torch.Tensor, bias: Optional[torch.Tensor],
               scale: float) -> torch.Tensor:
    """``(heads + bias) * scale`` as contiguous (B*H, N, C/H), in one pass.

    Args:
        heads (torch.Tensor): (B, H, N, C/H), a strided view of the packed
            projection.
        bias (torch.Tensor, optional): (C,), the heads' bias.
        scale (float): The factor.

    Returns:
        torch.Tensor: (B*H, N, C/H), contiguous.
    """
    batch, num_heads, length, head_dims = heads.shape
    if torch.compiler.is_compiling():  # the compiler fuses and lays it out
        if bias is not None:
            heads = heads + bias.view(num_heads, 1, head_dims)
        return (heads * scale).reshape(-1, length, head_dims)
    # an elementwise op would lay its result out like ``heads``: ``out``
    copy = heads.new_empty(heads.shape)
    if bias is None:
        torch.mul(heads, scale, out=copy)
    else:
        torch.add(bias.view(num_heads, 1, head_dims) * scale, heads,
                  alpha=scale, out=copy)
    return copy.view(-1, length, head_dims)


class _BiasedAttention(torch.autograd.Function):
    """See :func:`biased_attention`."""

    @staticmethod
    @torch.amp.custom_fwd(device_type='cpu')
    def forward(ctx, qkv: torch.Tensor, bias: torch.Tensor,
                q_bias: Optional[torch.Tensor], v_bias: Optional[torch.Tensor],
                num_heads: int, scale: float) -> torch.Tensor:
        batch, length, channels = qkv.shape
        head_dims = channels // (3 * num_heads)
        heads = qkv.reshape(batch, length, 3, num_heads,
                            head_dims).permute(2, 0, 3, 1, 4)
        query = _head_copy(heads[0], q_bias, scale)
        key = heads[1].reshape(-1, length, head_dims)
        value = _head_copy(heads[2], v_bias, 1.)
        scores = torch.bmm(query, key.transpose(1, 2))
        scores.view(batch, num_heads, length, length).add_(bias)
        # in place (a fresh (B*H, N, N) tensor would cost page faults)
        probs = (scores.softmax(dim=-1) if torch.compiler.is_compiling() else
                 torch._softmax(scores, -1, False, out=scores))
        out = torch.bmm(probs, value)
        ctx.save_for_backward(query, key, value, probs)
        ctx.scale, ctx.bias_shape = scale, bias.shape
        return out.view(batch, num_heads, length, head_dims).transpose(
            1, 2).reshape(batch, length, channels // 3)

    @staticmethod
    @torch.amp.custom_bwd(device_type='cpu')
    def backward(ctx, grad_out: torch.Tensor) -> Tuple[
            Optional[torch.Tensor], Optional[torch.Tensor],
            Optional[torch.Tensor], Optional[torch.Tensor], None, None]:
        query, key, value, probs = ctx.saved_tensors
        batch, length, channels = grad_out.shape
        num_heads = query.shape[0] // batch
        head_dims = channels // num_heads
        grad_heads = grad_out.reshape(batch, length, num_heads,
                                      head_dims).transpose(1, 2).reshape(
                                          -1, length, head_dims)
        grad_probs = torch.bmm(grad_heads, value.transpose(1, 2))
        grad_value = torch.bmm(probs.transpose(1, 2), grad_heads)
        # softmax backward, p * (g - sum_j g_j p_j), in place: one pass per
        # row that stays in cache
        grad_scores = torch._softmax_backward_data(
            grad_probs, probs, -1, probs.dtype, grad_input=grad_probs)
        grad_bias = None
        if ctx.needs_input_grad[1]:
            grad_bias = grad_scores.view(batch, num_heads, length,
                                         length).sum_to_size(ctx.bias_shape)
        grad_qkv = grad_q_bias = grad_v_bias = None
        if any(ctx.needs_input_grad[i] for i in (0, 2, 3)):
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
            if ctx.needs_input_grad[2] or ctx.needs_input_grad[3]:
                # the query's and the value's gradients summed over tokens
                grad_q_bias, grad_v_bias = grad_qkv.view(
                    -1, 3, channels)[:, ::2].sum(0).unbind(0)
        return grad_qkv, grad_bias, grad_q_bias, grad_v_bias, None, None


def biased_attention(qkv: torch.Tensor, bias: torch.Tensor, num_heads: int,
                     scale: float, q_bias: Optional[torch.Tensor] = None,
                     v_bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``softmax(scale * (q + q_bias) k^T + bias) (v + v_bias)`` over all
    heads, no dropout.

    Args:
        qkv (torch.Tensor): The packed projection (B, N, 3C), laid out as
            (B, N, 3, H, C/H) like BEiT's ``qkv`` linear layer.
        bias (torch.Tensor): Additive bias broadcastable to (B, H, N, N),
            e.g. the (1, H, N, N) relative position bias.
        num_heads (int): Number of heads H.
        scale (float): Factor of the scores, usually ``(C/H) ** -0.5``.
        q_bias (torch.Tensor, optional): Query bias (C,) not yet in ``qkv``.
        v_bias (torch.Tensor, optional): Value bias (C,) not yet in ``qkv``.

    Returns:
        torch.Tensor: Heads concatenated per token, (B, N, C).
    """
    return _BiasedAttention.apply(qkv, bias, q_bias, v_bias, num_heads, scale)
