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


@OPTIM_WRAPPERS.register_module()
class PortableAmpOptimWrapper(CompiledStepMixin, AmpOptimWrapper):
    """``AmpOptimWrapper`` that picks its precision for the device.

    * ``dtype=None`` on a CUDA GPU: bfloat16 autocast where the GPU supports
      it natively (Ampere and newer), float16 elsewhere
      (:func:`default_dtype`).
    * An explicit ``dtype`` is kept.
    * bfloat16 has the range of float32, so with it loss scaling is off
      (a disabled GradScaler) whatever ``loss_scale`` says; float16 uses
      ``loss_scale``.
    * Without an accelerator (mmengine's ``AmpOptimWrapper`` refuses to be
      built there) it trains in fp32 with a warning: no autocast, and a
      disabled GradScaler, so the optimizer state keeps its
      ``loss_scaler`` entry and a checkpoint written with AMP on a GPU
      resumes here (its scaler state is ignored).
    * ``cpu_autocast=True`` opts in to autocast on a machine without an
      accelerator: bfloat16 (``dtype`` None or ``'bfloat16'``, no loss
      scaling) or float16 (``dtype='float16'``, with a CPU GradScaler
      configured by ``loss_scale``), as a GPU would train; the tests train
      through it. It has no effect where there is an accelerator.
    * A checkpoint whose ``loss_scaler`` entry is empty (written by a
      disabled scaler: on a CPU or in bfloat16) resumes under float16 with a
      fresh scale instead of failing.

    Registered in mmengine's root ``OPTIM_WRAPPERS``, so configs of every
    scope (mmpretrain, mmseg, mmdet) can use it.

    Args:
        loss_scale (str | float | dict): As for ``AmpOptimWrapper``, used
            with float16. Defaults to ``'dynamic'``.
        dtype (str | torch.dtype, optional): Autocast type; None picks as
            above. Defaults to None.
        use_fsdp (bool): As for ``AmpOptimWrapper``. Defaults to False.
        cpu_autocast (bool): Without an accelerator, autocast on the CPU in
            ``dtype`` instead of training in fp32. Defaults to False.
        **kwargs: ``OptimWrapper`` arguments (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = None,
                 use_fsdp: bool = False,
                 cpu_autocast: bool = False,
                 **kwargs) -> None:
        self.cpu_autocast = cpu_autocast and not has_accelerator()
        if self.cpu_autocast:
            if dtype not in CPU_DTYPES:
                raise ConfigError(
                    'optim_wrapper.dtype must be bfloat16 or float16 with '
                    f'cpu_autocast=True, got {dtype}')
            OptimWrapper.__init__(self, **kwargs)
            self.cast_dtype = CPU_DTYPES[dtype]
            if self.cast_dtype == torch.float16:
                self.loss_scaler, self._scale_update_param = \
                    cpu_loss_scaler(loss_scale)
            else:
                self._scale_update_param = None
                self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)
            self.fp32 = False
            return
        if not has_accelerator():
            print_log(
                f'{type(self).__name__}: no GPU, so mixed precision is off: '
                'training in fp32', logger='current', level=logging.WARNING)
            OptimWrapper.__init__(self, **kwargs)
            self._scale_update_param = None
            self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)
            self.cast_dtype = None
            self.fp32 = True
            return
        if dtype is None:
            dtype = default_dtype()
        if dtype in ('bfloat16', torch.bfloat16):
            loss_scale = dict(enabled=False)
        super().__init__(
            loss_scale=loss_scale, dtype=dtype, use_fsdp=use_fsdp, **kwargs)
        self.fp32 = False

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

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Autocast (with an accelerator, or on the CPU with
        ``cpu_autocast``) and gradient-accumulation context.

        Args:
            model (nn.Module): The training model.
        """
        if self.fp32:
            with OptimWrapper.optim_context(self, model):
                yield
        elif self.cpu_autocast:
            # mmengine's autocast allows only bfloat16 on a CPU
            with OptimWrapper.optim_context(self, model), torch.autocast(
                    'cpu', dtype=self.cast_dtype):
                yield
        else:
            with super().optim_context(model):
                yield
