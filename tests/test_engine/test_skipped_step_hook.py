"""SkippedStepHook: fp16 overflow skips are counted; a run of them stops;
on a ConMIM model trained in fp16 (CPU autocast) the teacher still follows
the unchanged student on a skipped step, as in the official code."""
import math
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import AmpOptimWrapper, OptimWrapper, build_optim_wrapper
from mmengine.optim.optimizer import amp_optimizer_wrapper
from mmpretrain.structures import DataSample

from common import build_conmim, tiny_conmim_cfg, train_mode
from conmim_mm.engine import SkippedStepHook, TeacherUpdateHook
from conmim_mm.engine.optimizers import portable_amp_optim_wrapper
from conmim_mm.errors import ConfigError, NonFiniteError
from conmim_mm.models.algorithms.conmim import cosine_momentum


def test_fp16_overflow_skips_are_counted_and_a_run_of_them_stops(
        monkeypatch):
    # AmpOptimWrapper insists on a GPU; its scaler logic runs on CPU
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    model = torch.nn.Linear(4, 1)
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=1024.)
    hub = MessageHub.get_instance('test_fp16_skips')
    hub.update_info('max_iters', 10)
    runner = SimpleNamespace(optim_wrapper=wrapper, message_hub=hub)
    hook = SkippedStepHook(max_consecutive=3)
    overflow = [False, True, True, False, True, True, True]
    for i, inf in enumerate(overflow):
        hub.update_info('iter', i)
        before = model.weight.detach().clone()
        hook.before_train_iter(runner, i)
        loss = model(torch.ones(2, 4)).sum() * (math.inf if inf else 1.)
        wrapper.update_params(loss)
        assert torch.equal(model.weight, before) == inf  # skipped = unchanged
        if i < len(overflow) - 1:
            hook.after_train_iter(runner, i)
    with pytest.raises(NonFiniteError) as err:
        hook.after_train_iter(runner, len(overflow) - 1)
    assert str(err.value).startswith(
        '3 optimizer steps in a row were skipped for fp16 overflow, up to '
        'iteration 7/10 (loss scale now 32)')
    assert err.value.weights_finite
    counts = hub.get_scalar('train/skipped_steps').data[0]
    assert list(counts) == [0, 1, 2, 2, 3, 4, 5]
    assert hub.get_info('skipped_steps') == 5


def test_nothing_is_counted_without_an_enabled_loss_scaler():
    """fp32 (no scaler) and bf16 / CPU (a disabled scaler)."""
    model = torch.nn.Linear(4, 1)
    hub = MessageHub.get_instance('test_no_scaler')
    hook = SkippedStepHook(max_consecutive=1)
    for scaler in (None, torch.amp.GradScaler('cpu', enabled=False)):
        wrapper = OptimWrapper(
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
        if scaler is not None:
            wrapper.loss_scaler = scaler
        runner = SimpleNamespace(optim_wrapper=wrapper, message_hub=hub)
        for i in range(3):
            hook.before_train_iter(runner, i)
            hook.after_train_iter(runner, i)
    assert 'train/skipped_steps' not in hub.log_scalars
    assert hub.get_info('skipped_steps') is None


def test_max_consecutive_must_be_positive():
    with pytest.raises(ConfigError, match='max_consecutive must be >= 1'):
        SkippedStepHook(max_consecutive=0)


def _batch(seed: int) -> dict:
    generator = torch.Generator().manual_seed(seed)
    views = [torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8,
                           generator=generator) for _ in range(2)]
    samples = [DataSample().set_mask(
        torch.rand(4, 4, generator=generator) < 0.75) for _ in range(4)]
    return dict(inputs=views, data_samples=samples)


def test_fp16_skipped_step_counts_and_the_teacher_follows(monkeypatch):
    """Iterations 1 and 3 step; iteration 2's fp16 gradients overflow (an
    Inf planted in one of them): the scaler skips the step and halves the
    scale, the hook counts it, the student and AdamW's moments stay as they
    were, and the teacher still moves towards the (unchanged) student with
    iteration 2's momentum, as the official code updates it after the loss
    scaler whatever the scaler decided."""
    monkeypatch.setattr(portable_amp_optim_wrapper, 'has_accelerator',
                        lambda: False)
    cfg = tiny_conmim_cfg('vit-b_800e.py', img_size=64)
    cfg.model.data_preprocessor = cfg.data_preprocessor
    torch.manual_seed(0)
    model = train_mode(build_conmim(cfg))
    wrapper = build_optim_wrapper(model, dict(
        cfg.optim_wrapper, cpu_autocast=True, dtype='float16',
        loss_scale=dict(init_scale=256.)))
    max_iters = 3
    wrapper.initialize_count_status(model, 0, max_iters)
    skipped, teacher_update = SkippedStepHook(), TeacherUpdateHook()
    runner = SimpleNamespace(
        model=model, optim_wrapper=wrapper, iter=0, max_iters=max_iters,
        hooks=[skipped, teacher_update], cfg=cfg,
        message_hub=MessageHub.get_instance('test_fp16_teacher'))
    teacher_update.before_train(runner)
    student = dict(model.backbone.named_parameters())
    teacher = dict(model.teacher.backbone.named_parameters())
    weight = student['layers.0.attn.qkv.weight']

    for i, overflow in enumerate([False, True, False]):
        before = {k: v.detach().clone() for k, v in model.state_dict().items()}
        moments = {id(p): s['exp_avg'].clone()
                   for p, s in wrapper.optimizer.state.items()}
        scale = wrapper.loss_scaler.get_scale()
        handle = weight.register_hook(
            lambda grad: grad + float('inf')) if overflow else None
        skipped.before_train_iter(runner, i)
        model.train_step(_batch(i), wrapper)
        skipped.after_train_iter(runner, i)
        teacher_update.after_train_iter(runner, i)
        runner.iter += 1
        if handle:
            handle.remove()

        moved = not torch.equal(
            weight, before['backbone.layers.0.attn.qkv.weight'])
        assert moved != overflow, i
        assert runner.message_hub.get_info('skipped_steps', 0) == \
            int(i >= 1), i
        if overflow:
            assert wrapper.loss_scaler.get_scale() == scale / 2
            for name, value in student.items():
                assert torch.equal(value, before['backbone.' + name]), name
            for p, state in wrapper.optimizer.state.items():
                assert torch.equal(state['exp_avg'], moments[id(p)])
        # the teacher took one momentum step towards the student as it is
        # now, with this iteration's momentum
        momentum = cosine_momentum(model.teacher_momentum, i, max_iters)
        for name, value in teacher.items():
            expected = torch.lerp(before['teacher.backbone.' + name],
                                  student[name].detach(), 1 - momentum)
            assert torch.allclose(value, expected, rtol=0,
                                  atol=1e-7), (i, name)
            assert not torch.equal(value, before['teacher.backbone.' + name])
