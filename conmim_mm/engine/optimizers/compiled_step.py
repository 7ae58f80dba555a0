"""Where ``torch.compile`` stops in a training step of our wrappers.

mmengine's ``compile=True`` compiles the model's ``train_step``: data
preprocessing, the forward pass and the loss inside the optimizer wrapper's
``optim_context``, then ``optim_wrapper.update_params(loss)``. Our wrappers
keep ``update_params`` out of the compiled region on purpose
(``torch.compiler.disable``): the backward call, gradient clipping, the loss
scaler, the optimizer step and the NaN/Inf checks run as plain Python, the
one graph break of the step. Dynamo cannot trace ``GradScaler.step``
(``InternalTorchDynamoError: 'UserDefinedDictVariable' object has no
attribute 'items'`` in torch 2.14), and the checks branch on the values of
the loss and the weights. The gradients are still computed by the compiled
backward graph (AOTAutograd compiles it with the forward), and fused AdamW
is one kernel per step compiled or not.
"""
from typing import Optional

import torch


class CompiledStepMixin:
    """Keeps ``update_params`` out of ``torch.compile``; lets the compiled
    forward run unchanged iteration after iteration.

    Mixed into an ``OptimWrapper`` subclass, before it in the bases.

    Args:
        *args: The wrapper's positional arguments.
        accumulative_counts (int): As for ``OptimWrapper``. Defaults to 1.
        **kwargs: The wrapper's other arguments.
    """

    def __init__(self, *args, accumulative_counts: int = 1, **kwargs) -> None:
        super().__init__(
            *args, accumulative_counts=accumulative_counts, **kwargs)
        self.accumulates = accumulative_counts > 1

    @torch.compiler.disable
    def update_params(self,
                      loss: torch.Tensor,
                      step_kwargs: Optional[dict] = None,
                      zero_kwargs: Optional[dict] = None) -> None:
        """The parent's ``update_params``, never compiled.

        Args:
            loss (torch.Tensor): The loss to back-propagate.
            step_kwargs (dict, optional): For the optimizer's ``step``.
            zero_kwargs (dict, optional): For the optimizer's ``zero_grad``.
        """
        super().update_params(loss, step_kwargs, zero_kwargs)

    def should_sync(self) -> bool:
        """Whether this iteration's backward pass synchronises gradients.

        Without gradient accumulation always, answered without reading the
        iteration counter: ``optim_context`` asks inside the compiled
        region, and a value read there becomes a guard of the graph, which
        would compile the step a second time at the second iteration.

        Returns:
            bool: As mmengine's ``OptimWrapper.should_sync``.
        """
        if not self.accumulates:
            return True
        return super().should_sync()
