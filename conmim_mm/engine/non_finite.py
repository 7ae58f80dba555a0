"""Checks that stop a run at the first non-finite loss or weight.

Each check is one flag per iteration, all-reduced across ranks where the
ranks could disagree, so every rank stops at the same iteration. They are
made where nothing has been changed yet: the loss before the backward pass,
the student's weights before the teacher follows them
(:class:`~conmim_mm.engine.optimizers.CheckedOptimWrapper`).
"""
from typing import List, Optional

import torch
import torch.distributed as dist
from mmengine.logging import MessageHub

from ..errors import NonFiniteError


def iteration_label() -> str:
    """``'iteration 7/300'`` (1-based, as in the logs) from the MessageHub."""
    hub = MessageHub.get_current_instance()
    cur_iter, max_iters = hub.get_info('iter'), hub.get_info('max_iters')
    if cur_iter is None:
        return 'an unknown iteration'
    return f'iteration {cur_iter + 1}/{max_iters}'


def _all_ranks_agree(flag: bool, device: torch.device) -> bool:
    """``flag`` and-ed over all ranks (the flag itself outside DDP)."""
    if not (dist.is_available() and dist.is_initialized()
            and dist.get_world_size() > 1):
        return flag
    if dist.get_backend() == 'nccl':
        device = torch.device('cuda', torch.cuda.current_device())
    value = torch.tensor([int(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item())


def check_finite_loss(loss: torch.Tensor) -> None:
    """Raise :class:`NonFiniteError` if ``loss`` is NaN/Inf on any rank.

    Args:
        loss (torch.Tensor): The summed loss about to be back-propagated.

    Raises:
        NonFiniteError: Naming the iteration and this rank's loss; the
            weights are untouched (``weights_finite=True``).
    """
    local = bool(torch.isfinite(loss.detach()).all())
    if _all_ranks_agree(local, loss.device):
        return
    if local:
        raise NonFiniteError(f'non-finite loss at {iteration_label()} on '
                             'another rank (finite on this one)')
    value = loss.detach().float().mean().item()
    raise NonFiniteError(
        f'non-finite loss at {iteration_label()}: loss={value:g}')


def check_finite_parameters(params: List[torch.Tensor],
                            grad_norm: Optional[float] = None) -> None:
    """Raise :class:`NonFiniteError` if any of ``params`` holds a NaN/Inf.

    One multi-tensor norm over the weights; the gradients were all-reduced
    by DDP, so every rank reaches the same verdict without communication.

    Args:
        params (list[torch.Tensor]): Parameters after the optimizer step.
        grad_norm (float, optional): The step's gradient norm, for the
            message.

    Raises:
        NonFiniteError: With ``weights_finite=False``.
    """
    if not params:
        return
    norms = torch._foreach_norm([p.detach() for p in params])
    if bool(torch.isfinite(torch.stack(norms)).all()):
        return
    norm = '' if grad_norm is None else f' (gradient norm {grad_norm:g})'
    raise NonFiniteError(
        f'the optimizer step of {iteration_label()} made the student\'s '
        f'weights non-finite{norm}; the teacher was not updated and nothing '
        'was saved', weights_finite=False)
