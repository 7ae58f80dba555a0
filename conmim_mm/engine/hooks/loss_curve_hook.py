"""Plot the training loss to an image at the end of a run."""
import os.path as osp

import numpy as np
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ...analysis.curves import plot_curves


@HOOKS.register_module()
class LossCurveHook(Hook):
    """Write ``<work_dir>/<filename>``: the training loss per iteration.

    The curve comes from the runner's MessageHub history of ``train/loss``
    (which a resumed run restores), with a moving average over ``window``
    iterations.

    Args:
        filename (str): Image file name. Defaults to ``'loss_curve.png'``.
        window (int): Moving-average window. Defaults to 20.
    """

    priority = 'LOW'

    def __init__(self, filename: str = 'loss_curve.png',
                 window: int = 20) -> None:
        self.filename = filename
        self.window = window

    @master_only
    def after_train(self, runner) -> None:
        """Save the plot and log its path."""
        losses = runner.message_hub.get_scalar('train/loss').data[0]
        curves = {'loss': losses}
        if len(losses) >= self.window:
            kernel = np.ones(self.window) / self.window
            curves[f'mean of {self.window}'] = np.convolve(
                losses, kernel, mode='valid')
        path = osp.join(runner.work_dir, self.filename)
        plot_curves(np.arange(1, len(losses) + 1), curves, path,
                    'training loss')
        runner.logger.info(f'loss curve written to {path}')
