"""Optimizer over the student of a model that holds a momentum teacher."""
from typing import List, Optional

import torch
import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS

from ...norms import clip_grad_norm_


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class StudentOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` that leaves the teacher out.

    The momentum teacher (the model's ``teacher`` child) changes only through
    the momentum update and its parameters do not require gradients. The
    default constructor would skip each of them with a warning (hundreds of
    lines for a ViT-L); this one does not visit the teacher at all. Every
    other parameter gets the default rules (``paramwise_cfg``).

    Gradient-norm clipping (``clip_grad=dict(max_norm=...)``) goes through
    :func:`conmim_mm.norms.clip_grad_norm_`: the same clipped gradients and
    logged norm as PyTorch's, without the pass that multiplies every
    gradient by 1 in iterations that need no clipping, and with a faster
    norm on CPU.

    Args:
        optim_wrapper_cfg (dict): As for ``DefaultOptimWrapperConstructor``.
        paramwise_cfg (dict, optional): As for
            ``DefaultOptimWrapperConstructor``.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        """Build the optimizer wrapper of ``model``'s student.

        Args:
            model (nn.Module): The model (its ``teacher`` child is left out).

        Returns:
            OptimWrapper: As the default constructor builds it, with the
            clipping function above where the L2 norm is clipped.
        """
        optim_wrapper = super().__call__(model)
        if getattr(optim_wrapper, 'clip_func',
                   None) is torch.nn.utils.clip_grad_norm_:
            optim_wrapper.clip_func = clip_grad_norm_
        return optim_wrapper

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module: Optional[bool] = None) -> None:
        """Add the parameters of ``module`` except those of ``teacher``.

        Args:
            params (list[dict]): Parameter groups, extended in place.
            module (nn.Module): The module whose parameters are added.
            prefix (str): Name of ``module`` in the model.
            is_dcn_module (bool, optional): As for the default constructor.
        """
        if prefix == 'teacher':
            return
        super().add_params(params, module, prefix, is_dcn_module)
