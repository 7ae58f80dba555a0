"""TeacherUpdateHook: the teacher follows the student once per optimizer
step (every k-th iteration with accumulation k), after the step and before
the checkpoint; it declares itself to the model, once."""
import math
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import MODEL_WRAPPERS

from conftest import build_conmim, tiny_conmim_cfg
from conmim_mm.engine import SkippedStepHook, TeacherUpdateHook
from conmim_mm.models.algorithms.conmim import cosine_momentum


@MODEL_WRAPPERS.register_module(force=True)
class _TestWrapper(torch.nn.Module):
    """Stands in for MMDistributedDataParallel (a registered wrapper)."""

    def __init__(self, module):
        super().__init__()
        self.module = module


def _runner(model, counts: int = 1, max_iters: int = 4, hooks=()):
    """What the hook reads of mmengine's Runner, with a real OptimWrapper
    counting iterations as the train loop sets it up, built from the
    config's ``optim_wrapper``."""
    optim_wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.1),
        accumulative_counts=counts)
    optim_wrapper.initialize_count_status(model, 0, max_iters)
    return SimpleNamespace(
        model=model, optim_wrapper=optim_wrapper, iter=0,
        max_iters=max_iters, hooks=list(hooks),
        cfg=Config(dict(optim_wrapper=dict(
            type='OptimWrapper', accumulative_counts=counts))),
        message_hub=MessageHub.get_instance(f'teacher_update_{counts}'))


def _iterate(runner, hook) -> None:
    """A backward pass through the wrapper (which counts the iteration),
    the hook, then the next iteration."""
    param = runner.optim_wrapper.param_groups[0]['params'][0]
    runner.optim_wrapper.backward((param * 0).sum())
    hook.after_train_iter(runner, runner.iter)
    runner.iter += 1


def _perturbed_model():
    torch.manual_seed(0)
    model = build_conmim(tiny_conmim_cfg('vit-b_800e.py', img_size=32))
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(torch.randn_like(p))  # student != teacher
    return model


@pytest.mark.parametrize('wrapped', [False, True])
def test_teacher_moves_towards_the_student(wrapped):
    model = _perturbed_model()
    teacher = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    student = {k: v.clone() for k, v in model.state_dict().items()
               if not k.startswith('teacher.')}
    runner = _runner(_TestWrapper(model) if wrapped else model)
    hook = TeacherUpdateHook()
    _iterate(runner, hook)
    _iterate(runner, hook)  # the second step: momentum of step 1 of 4

    first, second = cosine_momentum(0.996, 0, 4), cosine_momentum(0.996, 1, 4)
    assert runner.message_hub.get_scalar(
        'train/teacher_momentum').current() == pytest.approx(second)
    parameters = dict(model.teacher.named_parameters())
    for key, value in model.teacher.state_dict().items():
        if key not in parameters:  # BN statistics, index buffers
            assert torch.equal(value, teacher[key]), key  # not averaged
            continue
        after_first = first * teacher[key] + (1 - first) * student[key]
        expected = second * after_first + (1 - second) * student[key]
        assert torch.allclose(value, expected, rtol=0, atol=1e-6), key


@pytest.mark.parametrize('counts', [1, 2, 4])
def test_one_update_per_optimizer_step_over_the_steps_schedule(counts):
    """10 iterations with accumulation k: updates at every k-th iteration
    and the last, with the cosine over ceil(10 / k) optimizer steps."""
    model = _perturbed_model()
    max_iters = 10
    runner = _runner(model, counts, max_iters)
    hook = TeacherUpdateHook()
    momenta = []
    for _ in range(max_iters):
        before = model.teacher.backbone.cls_token.clone()
        _iterate(runner, hook)
        moved = not torch.equal(before, model.teacher.backbone.cls_token)
        momenta.append(runner.message_hub.get_scalar(
            'train/teacher_momentum').current() if moved else None)
        runner.message_hub.update_scalar('train/teacher_momentum', -1.)
    steps = math.ceil(max_iters / counts)
    stepped = [i for i in range(max_iters)
               if (i + 1) % counts == 0 or i + 1 == max_iters]
    assert len(stepped) == steps
    assert [i for i, m in enumerate(momenta) if m is not None] == stepped
    assert [momenta[i] for i in stepped] == pytest.approx(
        [cosine_momentum(0.996, s, steps) for s in range(steps)], abs=1e-12)


def test_declares_itself_to_the_model_once():
    model = build_conmim(tiny_conmim_cfg('vit-b_800e.py', img_size=32))
    hook = TeacherUpdateHook()
    runner = _runner(_TestWrapper(model), hooks=[hook])
    hook.before_train(runner)
    assert model.teacher_updater == 'TeacherUpdateHook'
    hook.after_train(runner)
    assert model.teacher_updater is None

    twice = _runner(model, hooks=[hook, TeacherUpdateHook()])
    with pytest.raises(ValueError, match='2 TeacherUpdateHooks'):
        hook.before_train(twice)
    assert model.teacher_updater is None


def test_needs_the_students_single_optimizer_wrapper():
    model = build_conmim(tiny_conmim_cfg('vit-b_800e.py', img_size=32))
    runner = _runner(model)
    runner.optim_wrapper = OptimWrapperDict(student=runner.optim_wrapper)
    with pytest.raises(ValueError, match='one mmengine OptimWrapper'):
        TeacherUpdateHook().after_train_iter(runner, 0)


def test_runs_after_the_skip_count_and_before_the_checkpoint():
    from mmengine.runner.priority import get_priority
    order = [SkippedStepHook, TeacherUpdateHook, CheckpointHook]
    priorities = [get_priority(hook.priority) for hook in order]
    assert priorities[0] < priorities[1] < priorities[2]
