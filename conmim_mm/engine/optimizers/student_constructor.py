"""Optimizer over the student of a model that holds a momentum teacher."""
from typing import List, Optional

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor
from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class StudentOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` that leaves the teacher out.

    The momentum teacher (the model's ``teacher`` child) changes only through
    the momentum update and its parameters do not require gradients. The
    default constructor would skip each of them with a warning (hundreds of
    lines for a ViT-L); this one does not visit the teacher at all. Every
    other parameter gets the default rules (``paramwise_cfg``).

    Args:
        optim_wrapper_cfg (dict): As for ``DefaultOptimWrapperConstructor``.
        paramwise_cfg (dict, optional): As for
            ``DefaultOptimWrapperConstructor``.
    """

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
