"""Test helper: inject faults into a training run at chosen iterations."""
import time
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class FaultInjectionHook(Hook):
    """Slow a run down or make one iteration produce NaN/Inf.

    Args:
        sleep (float): Seconds to sleep after every iteration (room to kill
            the process mid-run).
        nan_loss_at (int, optional): 1-based iteration whose student
            features (hence loss) are NaN; the weights stay finite.
        inf_grad_at (int, optional): 1-based iteration whose gradient of the
            first student weight is Inf (the optimizer step then writes
            non-finite values into the student).
    """

    priority = 'VERY_HIGH'

    def __init__(self, sleep: float = 0.0, nan_loss_at: Optional[int] = None,
                 inf_grad_at: Optional[int] = None) -> None:
        self.sleep = sleep
        self.nan_loss_at = nan_loss_at
        self.inf_grad_at = inf_grad_at
        self._handles = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        iteration = runner.iter + 1
        if iteration == self.nan_loss_at:
            self._handles.append(model.backbone.register_forward_hook(
                lambda module, args, out: tuple(o * float('nan')
                                                for o in out)))
        if iteration == self.inf_grad_at:
            weight = next(model.backbone.parameters())
            self._handles.append(
                weight.register_hook(lambda grad: grad + float('inf')))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        time.sleep(self.sleep)
