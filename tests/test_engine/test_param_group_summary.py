"""param_group_summary / ParamGroupSummaryHook: one row per setting."""
from types import SimpleNamespace

import torch
import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper

from conmim_mm.engine import ParamGroupSummaryHook, param_group_summary


def _model() -> nn.Module:
    model = nn.Module()
    model.backbone = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3))
    model.neck = nn.Linear(3, 2)
    model.teacher = nn.Linear(4, 5)
    model.teacher.requires_grad_(False)
    return model


def _rows(table: str) -> list:
    return [line.split() for line in table.splitlines()[2:]]


def test_groups_with_one_setting_share_a_row():
    model = _model()
    backbone, neck = model.backbone, model.neck
    optimizer = torch.optim.AdamW([
        dict(params=[backbone[0].weight], weight_decay=0.05),
        dict(params=[neck.weight], weight_decay=0.05),
        dict(params=[backbone[0].bias, backbone[1].weight,
                     backbone[1].bias], weight_decay=0.0),
        dict(params=[neck.bias], lr=0.5, weight_decay=0.0),
    ], lr=0.1)
    # a scheduler's warm-up changes lr; the configured one is initial_lr
    for group in optimizer.param_groups:
        group['initial_lr'] = group['lr']
        group['lr'] *= 1e-3
    table = param_group_summary(optimizer, model)
    assert table.splitlines()[0] == (
        'optimizer AdamW: 6 tensors, 29 parameters in 3 settings')
    assert _rows(table) == [
        ['0.5', '0', '1', '2', 'neck.bias'],
        ['0.1', '0.05', '2', '18', 'backbone,', 'neck'],
        ['0.1', '0', '3', '9', 'backbone'],
        ['not', 'optimised:', '2', 'tensors,', '25', 'parameters', 'in',
         'teacher'],
    ]


def test_summary_of_mmengine_default_constructor():
    """The settings the per-parameter lines used to list, counted."""
    model = _model()
    model.teacher.requires_grad_(True)
    wrapper = DefaultOptimWrapperConstructor(
        dict(optimizer=dict(type='SGD', lr=0.2, weight_decay=1e-4)),
        dict(norm_decay_mult=0.0, bias_decay_mult=0.0))(model)
    assert _rows(param_group_summary(wrapper.optimizer, model)) == [
        ['0.2', '0.0001', '3', '38', 'backbone,', 'neck,', 'teacher'],
        ['0.2', '0', '5', '16', 'backbone,', 'neck,', 'teacher'],
    ]


def test_hook_logs_the_table_once_per_optimizer():
    model = _model()
    optimizer = torch.optim.SGD(model.neck.parameters(), lr=0.1)
    logged = []
    runner = SimpleNamespace(
        model=model, optim_wrapper=OptimWrapper(optimizer),
        logger=SimpleNamespace(info=logged.append))
    ParamGroupSummaryHook().before_train(runner)
    assert logged == [param_group_summary(optimizer, model)]
    assert logged[0].splitlines()[2].split() == ['0.1', '0', '2', '8', 'neck']
