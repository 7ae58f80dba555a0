"""The optimizer's parameter groups as one table in the log.

mmengine's ``DefaultOptimWrapperConstructor`` logs one line per parameter
setting (``paramwise_options -- ...``, dropped by
:class:`conmim_mm.quiet.QuietLogFilter`); this table says the same once, for
any constructor: one row per (lr, weight decay) setting.
"""
from collections import defaultdict
from typing import Dict, Iterable, List

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.registry import HOOKS


def _where(names: Iterable[str]) -> str:
    """The longest dotted prefix the names share, or their distinct first
    components (``'backbone, neck'``)."""
    names = sorted(names)
    parts = [name.split('.') for name in names]
    common = []
    for level in zip(*parts):
        if len(set(level)) > 1:
            break
        common.append(level[0])
    if common:
        return '.'.join(common)
    return ', '.join(sorted({p[0] for p in parts}))


def _count(params: List[torch.Tensor]) -> str:
    return f'{len(params)} tensors, {sum(p.numel() for p in params):,} ' \
        'parameters'


def param_group_summary(optimizer: torch.optim.Optimizer, model: nn.Module,
                        title: str = 'optimizer') -> str:
    """Describe the parameter groups of ``optimizer`` in a few lines.

    Groups with the same lr (the scheduler's ``initial_lr`` when a scheduler
    has set one, i.e. the configured lr before warm-up) and weight decay
    share a row; a row names the modules its parameters are in. Parameters
    of ``model`` in no group (e.g. a momentum teacher, a frozen backbone)
    end the table.

    Args:
        optimizer (torch.optim.Optimizer): The built optimizer.
        model (nn.Module): The model it optimises (for parameter names).
        title (str): The first word of the first line. Defaults to
            ``'optimizer'``.

    Returns:
        str: The table, lines joined by newlines.
    """
    names = {id(p): name for name, p in model.named_parameters()}
    rows: Dict[tuple, List[torch.Tensor]] = defaultdict(list)
    for group in optimizer.param_groups:
        setting = (group.get('initial_lr', group['lr']),
                   group.get('weight_decay'))
        rows[setting].extend(group['params'])
    optimised = [p for params in rows.values() for p in params]
    lines = [f'{title} {type(optimizer).__name__}: {_count(optimised)} in '
             f'{len(rows)} settings', '  lr        weight_decay  tensors  '
             'parameters      in']
    for (lr, decay), params in sorted(
            rows.items(), key=lambda row: (-row[0][0], -(row[0][1] or 0))):
        decay = '-' if decay is None else f'{decay:g}'
        where = _where(names.get(id(p), '?') for p in params)
        lines.append(f'  {lr:<9.3g} {decay:<13} {len(params):<8} '
                     f'{sum(p.numel() for p in params):<15,} {where}')
    ids = {id(p) for p in optimised}
    left = {n: p for n, p in model.named_parameters() if id(p) not in ids}
    if left:
        lines.append(f'  not optimised: {_count(list(left.values()))} in '
                     f'{_where(left)}')
    return '\n'.join(lines)


@HOOKS.register_module()
class ParamGroupSummaryHook(Hook):
    """Log :func:`param_group_summary` of the optimizer(s) before training.

    ``tools/train.py`` adds it to every run.
    """

    def before_train(self, runner) -> None:
        """Log one table per optimizer (after the schedulers are built)."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        wrapper = runner.optim_wrapper
        wrappers = wrapper.items() if isinstance(
            wrapper, OptimWrapperDict) else [('optimizer', wrapper)]
        for title, optim_wrapper in wrappers:
            runner.logger.info(
                param_group_summary(optim_wrapper.optimizer, model, title))
