"""Test helper: every rank saves its model weights after training."""
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RankWeightsDumpHook(Hook):
    """Save ``state_dict`` to ``<work_dir>/rank<R>.pth`` after the run."""

    def after_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        torch.save(model.state_dict(),
                   osp.join(runner.work_dir, f'rank{runner.rank}.pth'))
