"""``x + gamma * y``, the layer-scale residual of BEiT blocks, in one op."""
from typing import Optional, Tuple

import torch


class _ScaledResidual(torch.autograd.Function):
    """See :func:`scaled_residual`."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, gamma: torch.Tensor,
                y: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(gamma, y)
        return torch.addcmul(x, gamma, y)

    @staticmethod
    def backward(
        ctx, grad: torch.Tensor
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
        gamma, y = ctx.saved_tensors
        grad_gamma = grad_y = None
        if ctx.needs_input_grad[1]:
            grad_gamma = (grad * y).sum_to_size(gamma.shape)
        if ctx.needs_input_grad[2]:
            grad_y = grad * gamma
        return grad, grad_gamma, grad_y


def scaled_residual(x: torch.Tensor, gamma: torch.Tensor,
                    y: torch.Tensor) -> torch.Tensor:
    """``x + gamma * y`` as one ``torch.addcmul``.

    A multiply and an add would each write a (B, N, C) tensor. PyTorch's own
    backward of ``addcmul`` would first multiply ``y`` by the op's ``value``
    (1) for the gradient of ``gamma``, a third full-size product; this one
    computes the two products the gradients need.

    Args:
        x (torch.Tensor): Residual stream (B, N, C).
        gamma (torch.Tensor): Per-channel layer scale (C,).
        y (torch.Tensor): Branch output (B, N, C).

    Returns:
        torch.Tensor: (B, N, C).
    """
    return _ScaledResidual.apply(x, gamma, y)
