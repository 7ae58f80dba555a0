"""Norms over many tensors at once, and gradient clipping built on them.

On CPU, one BLAS dot product per tensor gives the sum of squares in half the
time of ``torch._foreach_norm`` (the 194 student tensors of a ConMIM ViT-S,
41M values: 5.4 ms against 10.5 ms on 2 cores). Gradient clipping and the
weight-finiteness check of every iteration both read every tensor once.
"""
from typing import Iterable, List, Union

import torch


def sum_of_squares(tensors: List[torch.Tensor]) -> torch.Tensor:
    """Sum of the squared L2 norms of ``tensors``.

    NaN or Inf anywhere makes the result non-finite. Values so large that
    their squares overflow (above about 1.8e19 in fp32) give Inf as well,
    as ``torch.linalg.vector_norm`` does.

    Args:
        tensors (list[torch.Tensor]): Tensors on one device.

    Returns:
        torch.Tensor: A 0-dim fp32 tensor on their device.
    """
    if all(t.device.type == 'cpu' and t.dtype == torch.float32
           and t.is_contiguous() for t in tensors):
        flat = [t.view(-1) for t in tensors]
        return torch.stack([torch.dot(t, t) for t in flat]).sum()
    norms = torch.stack(torch._foreach_norm(tensors)).float()
    return (norms * norms).sum()


def clip_grad_norm_(parameters: Union[torch.Tensor, Iterable[torch.Tensor]],
                    max_norm: float,
                    norm_type: float = 2.0,
                    error_if_nonfinite: bool = False,
                    foreach: Union[bool, None] = None) -> torch.Tensor:
    """``torch.nn.utils.clip_grad_norm_`` that skips the rescaling when it
    would multiply by exactly 1.

    The gradients come out as PyTorch's leave them: multiplied by
    ``min(max_norm / (norm + 1e-6), 1)``, NaN and Inf norms included (an
    Inf norm zeroes them, a NaN one spreads NaN). Only the multiplication
    by 1 of every gradient, a full pass over them in each unclipped
    iteration, is left out. The L2 norm comes from :func:`sum_of_squares`;
    other norm types go to PyTorch unchanged. Reading the norm's value
    waits for the device, as mmengine's ``OptimWrapper`` does right after
    to log it.

    Args:
        parameters (torch.Tensor | Iterable[torch.Tensor]): Parameters whose
            gradients are clipped in place.
        max_norm (float): Largest norm allowed.
        norm_type (float): Type of the norm. Defaults to 2.
        error_if_nonfinite (bool): Raise if the norm is NaN or Inf.
            Defaults to False.
        foreach (bool, optional): Passed to PyTorch for other norm types.

    Returns:
        torch.Tensor: The norm of all gradients together, before clipping.
    """
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    parameters = list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    if float(norm_type) != 2.0 or not grads:
        return torch.nn.utils.clip_grad_norm_(parameters, max_norm,
                                              norm_type, error_if_nonfinite,
                                              foreach)
    total = sum_of_squares(grads).sqrt()
    if error_if_nonfinite and not bool(torch.isfinite(total)):
        raise RuntimeError(
            f'The total norm of order {norm_type} for gradients from '
            '`parameters` is non-finite, so it cannot be clipped.')
    coefficient = max_norm / (total + 1e-6)
    if not bool(coefficient >= 1):  # NaN compares False: it is applied
        torch._foreach_mul_(grads, coefficient.clamp(max=1.0))
    return total
