"""Optimizer wrappers that stop training at the first NaN/Inf."""
from contextlib import contextmanager
from typing import List, Optional

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from torch.nn.modules.batchnorm import _BatchNorm

from ...errors import NonFiniteError
from ..non_finite import check_finite_loss, check_finite_parameters
from .compiled_step import CompiledStepMixin
from .portable_amp_optim_wrapper import (AcceleratorAmpOptimWrapper,
                                         CpuAmpOptimWrapper,
                                         PortableAmpOptimWrapper)


class NonFiniteCheckMixin:
    """Stop before a NaN/Inf reaches the weights; leave the last good state.

    * Before the backward pass: a non-finite loss (on any rank) raises
      :class:`~conmim_mm.errors.NonFiniteError` with ``weights_finite=True``.
      The BatchNorm running statistics that the failed forward pass changed
      are restored first (they are remembered when the forward pass enters
      :meth:`optim_context`), so the model and optimizer in memory are the
      state after the previous iteration and can be saved as they are.
    * After the optimizer step: weights made non-finite by it (an Inf
      gradient, with no loss scaler to skip the step) raise
      ``NonFiniteError`` with ``weights_finite=False``, before any
      ``after_train_iter`` hook (the teacher update, the checkpoint) sees
      them.

    Mixed into an ``OptimWrapper`` subclass, before it in the bases. The
    wrappers below are registered in mmengine's root ``OPTIM_WRAPPERS``, so
    configs of every scope can use them.

    Args:
        *args: The wrapper's arguments.
        **kwargs: The wrapper's keyword arguments.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._batch_norm_stats: List[torch.Tensor] = []
        self._stats_before: List[torch.Tensor] = []

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Remember the BatchNorm statistics, then enter the parent context.

        Args:
            model (nn.Module): The training model (or its DDP wrapper).
        """
        self._batch_norm_stats = [
            buffer for module in model.modules()
            if isinstance(module, _BatchNorm) for buffer in module.buffers()
        ]
        self._stats_before = [b.clone() for b in self._batch_norm_stats]
        with super().optim_context(model):
            yield

    def _step_grad_norm(self) -> Optional[float]:
        """The gradient norm the last step logged (clipping by norm only)."""
        if not self.clip_grad_kwargs or getattr(self, 'grad_name',
                                                None) != 'grad_norm':
            return None
        buffer = self.message_hub.log_scalars.get('train/grad_norm')
        return None if buffer is None else float(buffer.current())

    # first in the MRO, so it too is kept out of torch.compile (the checks
    # read the loss and the weights; see compiled_step.py)
    @torch.compiler.disable
    def update_params(self,
                      loss: torch.Tensor,
                      step_kwargs: Optional[dict] = None,
                      zero_kwargs: Optional[dict] = None) -> None:
        """Check the loss, update, check the weights.

        Args:
            loss (torch.Tensor): The loss to back-propagate.
            step_kwargs (dict, optional): For the optimizer's ``step``.
            zero_kwargs (dict, optional): For the optimizer's ``zero_grad``.

        Raises:
            NonFiniteError: As described above.
        """
        try:
            check_finite_loss(loss)
        except NonFiniteError:
            with torch.no_grad():
                for stat, before in zip(self._batch_norm_stats,
                                        self._stats_before):
                    stat.copy_(before)
            raise
        finally:
            self._batch_norm_stats, self._stats_before = [], []
        super().update_params(loss, step_kwargs, zero_kwargs)
        if self.should_update():
            check_finite_parameters(
                [p for group in self.param_groups for p in group['params']],
                self._step_grad_norm())


@OPTIM_WRAPPERS.register_module()
class CheckedOptimWrapper(NonFiniteCheckMixin, CompiledStepMixin,
                          OptimWrapper):
    """``OptimWrapper`` (fp32) with the checks of :class:`NonFiniteCheckMixin`
    (compiled as :class:`CompiledStepMixin` says).

    Args:
        **kwargs: ``OptimWrapper`` arguments.
    """


@OPTIM_WRAPPERS.register_module()
class CheckedAmpOptimWrapper(NonFiniteCheckMixin, PortableAmpOptimWrapper):
    """:class:`PortableAmpOptimWrapper` (bf16/fp16 on GPUs, fp32 on CPU)
    with the checks of :class:`NonFiniteCheckMixin`; built as
    :class:`CheckedAcceleratorAmpOptimWrapper` or
    :class:`CheckedCpuAmpOptimWrapper` for the machine.

    Under float16 a step whose gradients overflow is skipped by the loss
    scaler and leaves the weights finite; ``SkippedStepHook`` counts those.

    Args:
        **kwargs: ``PortableAmpOptimWrapper`` arguments.
    """


class CheckedAcceleratorAmpOptimWrapper(CheckedAmpOptimWrapper,
                                        AcceleratorAmpOptimWrapper):
    """:class:`AcceleratorAmpOptimWrapper` with the checks of
    :class:`NonFiniteCheckMixin`.

    Args:
        **kwargs: ``PortableAmpOptimWrapper`` arguments.
    """


class CheckedCpuAmpOptimWrapper(CheckedAmpOptimWrapper, CpuAmpOptimWrapper):
    """:class:`CpuAmpOptimWrapper` with the checks of
    :class:`NonFiniteCheckMixin`.

    Args:
        **kwargs: ``PortableAmpOptimWrapper`` arguments.
    """


CheckedAmpOptimWrapper.on_accelerator = CheckedAcceleratorAmpOptimWrapper
CheckedAmpOptimWrapper.on_cpu = CheckedCpuAmpOptimWrapper
