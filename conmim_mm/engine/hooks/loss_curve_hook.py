"""Plot the training loss to an image at the end of a run."""
import os.path as osp

from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


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
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        import numpy as np

        losses = runner.message_hub.get_scalar('train/loss').data[0]
        steps = np.arange(1, len(losses) + 1)
        figure, axis = plt.subplots(figsize=(6, 4), dpi=100)
        axis.plot(steps, losses, alpha=0.35, label='loss')
        if len(losses) >= self.window:
            kernel = np.ones(self.window) / self.window
            axis.plot(steps[self.window - 1:],
                      np.convolve(losses, kernel, mode='valid'),
                      label=f'mean of {self.window}')
        axis.set_xlabel('iteration')
        axis.set_ylabel('training loss')
        axis.legend()
        figure.tight_layout()
        path = osp.join(runner.work_dir, self.filename)
        figure.savefig(path)
        plt.close(figure)
        runner.logger.info(f'loss curve written to {path}')
