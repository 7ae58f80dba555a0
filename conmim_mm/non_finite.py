"""Stop a run at the first non-finite loss or weight, naming the iteration.

The checks are cheap (one flag per iteration, all-reduced across ranks so that
every rank stops at the same iteration) and are made where nothing has been
changed yet: the loss before the optimizer step, the student before the
teacher follows it. :func:`conmim_mm.launch.train` then makes sure the last
good state is on disk before the error is reported.
"""
import math
from typing import Dict, List, Optional

import torch
import torch.distributed as dist
from mmengine.logging import MessageHub

from .norms import sum_of_squares


class NonFiniteError(RuntimeError):
    """Training met a NaN/Inf.

    Args:
        message (str): What was non-finite, with the iteration.
        weights_finite (bool): Whether the model and optimizer in memory are
            still the last good state (then it is saved before the run
            stops); ``False`` when the optimizer step already wrote
            non-finite values into the student.
    """

    def __init__(self, message: str, weights_finite: bool = True) -> None:
        super().__init__(message)
        self.weights_finite = weights_finite


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


def check_finite_losses(losses: Dict[str, torch.Tensor],
                        total: torch.Tensor) -> None:
    """Raise :class:`NonFiniteError` if any loss term is NaN/Inf on any rank.

    Args:
        losses (dict[str, torch.Tensor]): Loss terms, as the model returned
            them (each reduced to a scalar for the message).
        total (torch.Tensor): The summed loss about to be back-propagated.

    Raises:
        NonFiniteError: Naming the iteration and every term's value on this
            rank; the weights are untouched (``weights_finite=True``).
    """
    local = bool(torch.isfinite(total.detach()).all())
    if _all_ranks_agree(local, total.device):
        return
    if local:
        raise NonFiniteError(f'non-finite loss at {iteration_label()} on '
                             'another rank (finite on this one)')
    terms = ', '.join(f'{name}={_scalar(value):g}'
                      for name, value in losses.items())
    raise NonFiniteError(f'non-finite loss at {iteration_label()}: {terms}')


def _scalar(value) -> float:
    """Mean of a loss term (a tensor or a list of tensors) as a float."""
    if isinstance(value, torch.Tensor):
        return value.detach().float().mean().item()
    values = [_scalar(v) for v in value]
    return sum(values) / len(values) if values else math.nan


def check_finite_parameters(params: List[torch.Tensor],
                            grad_norm: Optional[float] = None) -> None:
    """Raise :class:`NonFiniteError` if any of ``params`` holds a NaN/Inf.

    One pass over the weights (:func:`conmim_mm.norms.sum_of_squares`); the
    gradients are all-reduced by DDP, so every rank reaches the same verdict
    without communication.

    Args:
        params (list[torch.Tensor]): The student's parameters after the
            optimizer step.
        grad_norm (float, optional): The step's gradient norm, for the
            message.

    Raises:
        NonFiniteError: With ``weights_finite=False``.
    """
    if bool(torch.isfinite(sum_of_squares(params))):
        return
    norm = '' if grad_norm is None else f' (gradient norm {grad_norm:g})'
    raise NonFiniteError(
        f'the optimizer step of {iteration_label()} made the student\'s '
        f'weights non-finite{norm}; the teacher was not updated and nothing '
        'was saved', weights_finite=False)
