"""SkippedStepHook: fp16 overflow skips are counted; a run of them stops."""
import math
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.optim.optimizer import amp_optimizer_wrapper

from conmim_mm.engine import SkippedStepHook
from conmim_mm.errors import ConfigError, NonFiniteError


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
