"""Plot the training loss (and the pretext accuracy) at the end of a run."""
import math
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
import torch.nn as nn
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ...analysis.curves import Panel, plot_panels


def patch_acc_chance(model: nn.Module) -> Optional[float]:
    """``patch_acc`` (in %) of a guess: 100 / N for N patches per image.

    Args:
        model (nn.Module): The trained model (a wrapper is unwrapped); N is
            the product of its ``backbone.patch_resolution``, the patch grid
            of the backbone's input size.

    Returns:
        float | None: The chance level, or None for a model without a
        patch grid.
    """
    if is_model_wrapper(model):
        model = model.module
    grid = getattr(getattr(model, 'backbone', None), 'patch_resolution',
                   None)
    return None if grid is None else 100 / math.prod(grid)


@HOOKS.register_module()
class LossCurveHook(Hook):
    """Write ``<work_dir>/<filename>``: the training loss per iteration.

    The curves come from the runner's MessageHub history (which a resumed
    run restores), each with a moving average over ``window`` iterations:
    ``train/loss`` in the top panel and, for models that log it (ConMIM),
    ``train/patch_acc`` below it with its chance level
    (:func:`patch_acc_chance`) as a dashed line.

    Args:
        filename (str): Image file name. Defaults to ``'loss_curve.png'``.
        window (int): Moving-average window. Defaults to 20.
    """

    priority = 'LOW'

    def __init__(self, filename: str = 'loss_curve.png',
                 window: int = 20) -> None:
        self.filename = filename
        self.window = window

    def _with_mean(self, label: str,
                   values: Sequence[float]) -> Dict[str, Sequence[float]]:
        curves = {label: values}
        if len(values) >= self.window:
            kernel = np.ones(self.window) / self.window
            curves[f'mean of {self.window}'] = np.convolve(
                values, kernel, mode='valid')
        return curves

    @master_only
    def after_train(self, runner) -> None:
        """Save the plot and log its path."""
        hub = runner.message_hub
        losses = hub.get_scalar('train/loss').data[0]
        panels = [Panel(self._with_mean('loss', losses), 'training loss')]
        if 'train/patch_acc' in hub.log_scalars:
            chance = patch_acc_chance(runner.model)
            panels.append(
                Panel(
                    self._with_mean('patch_acc',
                                    hub.get_scalar('train/patch_acc').data[0]),
                    'patch_acc (%)',
                    {} if chance is None else {f'chance ({chance:.3g}%)':
                                               chance}))
        path = osp.join(runner.work_dir, self.filename)
        plot_panels(np.arange(1, len(losses) + 1), panels, path)
        runner.logger.info(f'loss curve written to {path}')
