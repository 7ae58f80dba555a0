"""The checks of a fine-tuning from a pre-trained ViT, before it trains."""
from typing import List, Optional

from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import BaseOptimWrapper
from mmengine.registry import HOOKS

from ...analysis.finetune_checks import (LoadReport, backbone_checkpoint,
                                         check_loaded, checkpoint_backbone,
                                         load_report, loaded_by_init,
                                         lr_scale_line, position_lines,
                                         sync_bn_line)
from ...errors import ConfigError


@HOOKS.register_module()
class FinetuneChecksHook(Hook):
    """Check a fine-tuning's backbone, lr scales and norms; log one line
    each, or stop the run with one error naming what is wrong.

    Before the weights are initialised (``before_run``): no SyncBN in a
    single process; the lr scale of each layer group follows BEiT's layer
    decay rule with ``layer_decay_rate``; the checkpoint of the backbone's
    ``Pretrained`` init_cfg provides at least ``min_loaded`` of its
    parameter tensors under its prefix. After (``before_train``): the
    backbone holds them, and its relative position tables are the
    checkpoint's resized to its patch grid. See
    :mod:`conmim_mm.analysis.finetune_checks`.

    Args:
        layer_decay_rate (float): The configured layer decay (1 for none).
        min_loaded (float): The least share of the backbone's parameter
            tensors the checkpoint must provide. Defaults to 0.95.

    Attributes:
        lines (list[str]): The lines of the checks, in order.
    """

    priority = 'VERY_LOW'

    def __init__(self, layer_decay_rate: float,
                 min_loaded: float = 0.95) -> None:
        if not 0 < layer_decay_rate <= 1 or not 0 <= min_loaded <= 1:
            raise ConfigError(
                'FinetuneChecksHook: layer_decay_rate must be in (0, 1] and '
                f'min_loaded in [0, 1], got {layer_decay_rate!r} and '
                f'{min_loaded!r}')
        self.layer_decay_rate = layer_decay_rate
        self.min_loaded = min_loaded
        self.lines: List[str] = []
        self._report: Optional[LoadReport] = None

    def _say(self, runner, line: str) -> None:
        self.lines.append(line)
        runner.logger.info(f'check: {line}')

    def before_run(self, runner) -> None:
        """SyncBN, lr scales and the checkpoint's share of the backbone,
        once, in a training (``Runner.val`` and ``Runner.test`` call
        ``before_run`` too: with an optimizer built and the checks done,
        or with no optimizer built, nothing is checked)."""
        if self.lines or not isinstance(runner.optim_wrapper,
                                        BaseOptimWrapper):
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self._say(runner, sync_bn_line(model, get_world_size()))
        self._say(runner, lr_scale_line(
            runner.optim_wrapper.optimizer, model, model.backbone.num_layers,
            self.layer_decay_rate))
        source = backbone_checkpoint(model.backbone)
        if source is None:
            self._say(runner, 'backbone: random initialisation (no '
                      'Pretrained init_cfg)')
            return
        self._report = load_report(model.backbone, *source)
        self._say(runner, check_loaded(self._report, self.min_loaded))

    def before_train(self, runner) -> None:
        """The initialised backbone holds the checkpoint's tensors, its
        position tables resized to its grid."""
        if self._report is None:
            return
        report, self._report = self._report, None
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        loaded_by_init(model.backbone, report)
        state = checkpoint_backbone(report.checkpoint, report.prefix)
        for line in position_lines(model.backbone, state):
            self._say(runner, line)
