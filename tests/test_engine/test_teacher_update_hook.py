"""TeacherUpdateHook: the teacher follows the student once per iteration,
after the optimizer step and before the checkpoint."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import CheckpointHook
from mmengine.logging import MessageHub
from mmengine.registry import MODEL_WRAPPERS

from conftest import build_conmim, set_iteration, tiny_conmim_cfg
from conmim_mm.engine import SkippedStepHook, TeacherUpdateHook
from conmim_mm.models.algorithms.conmim import cosine_momentum


@MODEL_WRAPPERS.register_module(force=True)
class _TestWrapper(torch.nn.Module):
    """Stands in for MMDistributedDataParallel (a registered wrapper)."""

    def __init__(self, module):
        super().__init__()
        self.module = module


@pytest.mark.parametrize('wrapped', [False, True])
def test_teacher_moves_towards_the_student(wrapped):
    torch.manual_seed(0)
    model = build_conmim(tiny_conmim_cfg('vit-b_800e.py', img_size=32))
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(torch.randn_like(p))  # student != teacher
    teacher = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    student = {k: v.clone() for k, v in model.state_dict().items()
               if not k.startswith('teacher.')}
    hub = MessageHub.get_instance(f'teacher_update_{wrapped}')
    set_iteration(1, 4)
    runner = SimpleNamespace(
        model=_TestWrapper(model) if wrapped else model, message_hub=hub)
    TeacherUpdateHook().after_train_iter(runner, 0)

    momentum = cosine_momentum(0.996, 1, 4)
    assert hub.get_scalar('train/teacher_momentum').current() == \
        pytest.approx(momentum)
    parameters = dict(model.teacher.named_parameters())
    for key, value in model.teacher.state_dict().items():
        if key not in parameters:  # BN statistics, index buffers
            assert torch.equal(value, teacher[key]), key  # not averaged
            continue
        expected = momentum * teacher[key] + (1 - momentum) * student[key]
        assert torch.allclose(value, expected, rtol=0, atol=1e-6), key


def test_runs_after_the_skip_count_and_before_the_checkpoint():
    from mmengine.runner.priority import get_priority
    order = [SkippedStepHook, TeacherUpdateHook, CheckpointHook]
    priorities = [get_priority(hook.priority) for hook in order]
    assert priorities[0] < priorities[1] < priorities[2]
