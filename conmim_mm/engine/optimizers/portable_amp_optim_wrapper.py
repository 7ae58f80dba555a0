"""Mixed precision where there is an accelerator; fp32 (or, opted in,
autocast) on a CPU."""
import logging
from contextlib import contextmanager
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.device import (is_cuda_available, is_mlu_available,
                             is_musa_available, is_npu_available)
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from ...errors import ConfigError
from .compiled_step import CompiledStepMixin

#: The autocast types ``cpu_autocast=True`` accepts (None: bfloat16).
CPU_DTYPES = {
    None: torch.bfloat16,
    'bfloat16': torch.bfloat16,
    torch.bfloat16: torch.bfloat16,
    'float16': torch.float16,
    torch.float16: torch.float16,
}


def has_accelerator() -> bool:
    """Whether mmengine's ``AmpOptimWrapper`` can be built on this machine.

    Returns:
        bool: True with a CUDA, NPU, MLU or MUSA device.
    """
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


def default_dtype() -> Optional[str]:
    """The autocast type :class:`PortableAmpOptimWrapper` picks by default.

    Returns:
        str | None: ``'bfloat16'`` on a CUDA GPU with native bfloat16 (compute
        capability 8.0 and newer; an emulated bfloat16 does not count),
        ``'float16'`` on other CUDA GPUs, None (the device's autocast
        default) on other accelerators.
    """
    if not is_cuda_available():
        return None
    if torch.cuda.is_bf16_supported(including_emulation=False):
        return 'bfloat16'
    return 'float16'


def cpu_loss_scaler(
        loss_scale: Union[str, float, dict]
) -> Tuple[torch.amp.GradScaler, Optional[float]]:
    """A CPU ``GradScaler`` configured as ``AmpOptimWrapper`` configures
    its CUDA one.

    Args:
        loss_scale (str | float | dict): ``'dynamic'`` (the defaults), a
            float (a static scale) or ``GradScaler`` arguments.

    Returns:
        tuple: The scaler and the fixed scale ``GradScaler.update`` is given
        (None for a dynamic scale).

    Raises:
        ConfigError: For another ``loss_scale``.
    """
    if loss_scale == 'dynamic':
        return torch.amp.GradScaler('cpu'), None
    if isinstance(loss_scale, float):
        return torch.amp.GradScaler('cpu', init_scale=loss_scale), loss_scale
    if isinstance(loss_scale, dict):
        return torch.amp.GradScaler('cpu', **loss_scale), None
    raise ConfigError('optim_wrapper.loss_scale must be a float, a dict or '
                      f"'dynamic', got {loss_scale!r}")


class DeviceDispatch:
    """Builds one of two classes, as the machine has an accelerator or not.

    A class that sets ``on_accelerator`` and ``on_cpu`` (its subclasses) in
    its own namespace is built as one of them: ``Dispatching(**kwargs)`` is
    ``on_accelerator(**kwargs)`` where :func:`has_accelerator`, else
    ``on_cpu(**kwargs)``, each built by its own ``__init__``, parents
    included. Subclasses that do not set them are built as themselves.
    """

    on_accelerator: type
    on_cpu: type

    def __new__(cls, *args, **kwargs):
        if 'on_cpu' in vars(cls):
            cls = cls.on_accelerator if has_accelerator() else cls.on_cpu
        return super().__new__(cls)


@OPTIM_WRAPPERS.register_module()
class PortableAmpOptimWrapper(DeviceDispatch, CompiledStepMixin,
                              OptimWrapper):
    """Mixed precision on the machine's accelerator; fp32 (or, opted in,
    autocast) on a CPU.

    Built as :class:`AcceleratorAmpOptimWrapper` (mmengine's
    ``AmpOptimWrapper``) where there is a CUDA, NPU, MLU or MUSA device, and
    as :class:`CpuAmpOptimWrapper` elsewhere (mmengine's ``AmpOptimWrapper``
    refuses to be built there). Both keep the ``loss_scaler`` entry of the
    optimizer state, so a checkpoint written on a GPU resumes on a CPU and
    the other way round. Registered in mmengine's root ``OPTIM_WRAPPERS``,
    so configs of every scope (mmpretrain, mmseg, mmdet) can use it.

    Args:
        loss_scale (str | float | dict): As for ``AmpOptimWrapper``, used
            with float16. Defaults to ``'dynamic'``.
        dtype (str | torch.dtype, optional): Autocast type; None picks
            bfloat16 on GPUs that have it natively, float16 on others
            (:func:`default_dtype`). Defaults to None.
        use_fsdp (bool): As for ``AmpOptimWrapper``. Defaults to False.
        cpu_autocast (bool): Without an accelerator, autocast on the CPU in
            ``dtype`` instead of training in fp32. Defaults to False.
        **kwargs: ``OptimWrapper`` arguments (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """


class AcceleratorAmpOptimWrapper(PortableAmpOptimWrapper, AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` with the precision picked for the GPU.

    * ``dtype=None`` on a CUDA GPU: bfloat16 autocast where the GPU supports
      it natively (Ampere and newer), float16 elsewhere
      (:func:`default_dtype`); an explicit ``dtype`` is kept.
    * bfloat16 has the range of float32, so with it loss scaling is off
      (a disabled GradScaler) whatever ``loss_scale`` says; float16 uses
      ``loss_scale``.
    * A checkpoint whose ``loss_scaler`` entry is empty (written by a
      disabled scaler: on a CPU or in bfloat16) resumes under float16 with a
      fresh scale instead of failing.

    Args:
        loss_scale (str | float | dict): See :class:`PortableAmpOptimWrapper`.
        dtype (str | torch.dtype, optional): Autocast type.
        use_fsdp (bool): As for ``AmpOptimWrapper``.
        cpu_autocast (bool): No effect where there is an accelerator.
        **kwargs: ``OptimWrapper`` arguments.
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = None,
                 use_fsdp: bool = False,
                 cpu_autocast: bool = False,
                 **kwargs) -> None:
        if dtype is None:
            dtype = default_dtype()
        if dtype in ('bfloat16', torch.bfloat16):
            loss_scale = dict(enabled=False)
        super().__init__(
            loss_scale=loss_scale, dtype=dtype, use_fsdp=use_fsdp, **kwargs)

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer state and, where it applies, the scaler's.

        Args:
            state_dict (dict): As written by :meth:`state_dict`; an empty
                or absent ``loss_scaler`` entry leaves the scaler as built.
        """
        if not state_dict.get('loss_scaler', True):
            state_dict = dict(state_dict)
            del state_dict['loss_scaler']
        super().load_state_dict(state_dict)


class CpuAmpOptimWrapper(PortableAmpOptimWrapper):
    """An ``OptimWrapper`` for a machine without an accelerator.

    * By default it trains in fp32 with a warning: no autocast, and a
      disabled GradScaler, so the optimizer state keeps its ``loss_scaler``
      entry (an empty one) and a checkpoint written with AMP on a GPU
      resumes here (its scaler state is ignored).
    * ``cpu_autocast=True`` opts in to autocast on the CPU: bfloat16
      (``dtype`` None or ``'bfloat16'``, no loss scaling) or float16
      (``dtype='float16'``, with a CPU GradScaler configured by
      ``loss_scale`` as ``AmpOptimWrapper`` configures its CUDA one: a step
      whose gradients overflow is skipped and the scale backs off).

    Args:
        loss_scale (str | float | dict): See :class:`PortableAmpOptimWrapper`.
        dtype (str | torch.dtype, optional): Autocast type with
            ``cpu_autocast``.
        use_fsdp (bool): Unused without an accelerator.
        cpu_autocast (bool): Autocast instead of fp32. Defaults to False.
        **kwargs: ``OptimWrapper`` arguments.

    Raises:
        ConfigError: For a ``dtype`` other than bfloat16 or float16 with
            ``cpu_autocast``.
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = None,
                 use_fsdp: bool = False,
                 cpu_autocast: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.cast_dtype = None
        self.fixed_scale = None
        if cpu_autocast:
            if dtype not in CPU_DTYPES:
                raise ConfigError(
                    'optim_wrapper.dtype must be bfloat16 or float16 with '
                    f'cpu_autocast=True, got {dtype}')
            self.cast_dtype = CPU_DTYPES[dtype]
        else:
            print_log(
                f'{type(self).__name__}: no GPU, so mixed precision is off: '
                'training in fp32', logger='current', level=logging.WARNING)
        if self.cast_dtype == torch.float16:
            self.loss_scaler, self.fixed_scale = cpu_loss_scaler(loss_scale)
        else:
            self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Back-propagate the (scaled) loss.

        Args:
            loss (torch.Tensor): The loss.
            **kwargs: For ``loss.backward``.
        """
        super().backward(self.loss_scaler.scale(loss), **kwargs)

    def step(self, **kwargs) -> None:
        """Unscale and clip the gradients, step unless they overflowed,
        update the scale.

        Args:
            **kwargs: For the optimizer's ``step``.
        """
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            params = [p for group in self.optimizer.param_groups
                      for p in group['params']
                      if p.requires_grad and p.grad is not None]
            if params:
                grad = self.clip_func(params, **self.clip_grad_kwargs)
                if grad is not None:
                    self.message_hub.update_scalar(f'train/{self.grad_name}',
                                                   float(grad))
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self.fixed_scale)

    def state_dict(self) -> dict:
        """The optimizer's state and the scaler's (``loss_scaler``).

        Returns:
            dict: As ``AmpOptimWrapper.state_dict`` lays it out.
        """
        state = super().state_dict()
        state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer state and, where it applies, the scaler's.

        Args:
            state_dict (dict): As written by :meth:`state_dict` (here or by
                ``AmpOptimWrapper``); the scaler state is ignored by a
                disabled scaler.
        """
        state_dict = dict(state_dict)
        scaler = state_dict.pop('loss_scaler', None)
        if scaler and self.loss_scaler.is_enabled():
            self.loss_scaler.load_state_dict(scaler)
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient accumulation context, with autocast if opted in.

        Args:
            model (nn.Module): The training model.
        """
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=self.cast_dtype or torch.bfloat16,
                enabled=self.cast_dtype is not None):
            yield


PortableAmpOptimWrapper.on_accelerator = AcceleratorAmpOptimWrapper
PortableAmpOptimWrapper.on_cpu = CpuAmpOptimWrapper
