"""CheckedOptimWrapper / CheckedAmpOptimWrapper stop at the first NaN/Inf
and leave the last good state in memory."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from common import set_iteration
from conmim_mm.engine.optimizers import (CheckedAmpOptimWrapper,
                                         CheckedOptimWrapper)
from conmim_mm.engine.optimizers import portable_amp_optim_wrapper
from conmim_mm.errors import NonFiniteError

WRAPPERS = [CheckedOptimWrapper, CheckedAmpOptimWrapper]


@pytest.fixture(autouse=True)
def cpu_only(monkeypatch):
    """The fp32 CPU behaviour, also on a machine with a GPU."""
    monkeypatch.setattr(portable_amp_optim_wrapper, 'has_accelerator',
                        lambda: False)


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))


def _inputs(scale: float = 1.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(6, 4, generator=generator) * scale + scale


def _step(wrapper, model, inputs, factor: float = 1.0) -> None:
    """One training iteration as mmengine's ``train_step`` makes it."""
    with wrapper.optim_context(model):
        loss = model(inputs).pow(2).mean() * factor
    wrapper.update_params(loss)


def _clone(model) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _build(kind, model, name, **kwargs):
    MessageHub.get_instance(name)  # the current hub, as in a runner
    return kind(optimizer=torch.optim.AdamW(model.parameters(), lr=0.1),
                **kwargs)


@pytest.mark.parametrize('kind', WRAPPERS)
def test_nan_loss_raises_and_restores_batch_norm_statistics(kind):
    model = _model().train()
    wrapper = _build(kind, model, f'checked_nan_{kind.__name__}')
    set_iteration(6, 12)
    _step(wrapper, model, _inputs())
    before = _clone(model)
    optimizer_before = copy.deepcopy(wrapper.state_dict())
    set_iteration(7, 12)
    with wrapper.optim_context(model):
        loss = model(_inputs(3.0)).pow(2).mean() * float('nan')
    # the failed forward pass moved the running statistics
    assert not torch.equal(model[1].running_mean, before['1.running_mean'])
    with pytest.raises(NonFiniteError) as err:
        wrapper.update_params(loss)
    assert str(err.value) == 'non-finite loss at iteration 8/12: loss=nan'
    assert err.value.weights_finite
    after = model.state_dict()
    for key, value in before.items():  # weights and BN buffers
        assert torch.equal(after[key], value), key
    assert all(p.grad is None for p in model.parameters())
    state = wrapper.state_dict()
    for index, values in optimizer_before['state'].items():
        for name, value in values.items():
            assert torch.equal(state['state'][index][name], value)
    # training goes on from there as if the iteration had not happened
    reference = _model().train()
    reference.load_state_dict(before)
    reference_wrapper = _build(OptimWrapper, reference, 'checked_reference')
    reference_wrapper.load_state_dict(copy.deepcopy(
        {k: v for k, v in optimizer_before.items() if k != 'loss_scaler'}))
    _step(wrapper, model, _inputs(2.0))
    _step(reference_wrapper, reference, _inputs(2.0))
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


@pytest.mark.parametrize('kind', WRAPPERS)
@pytest.mark.parametrize('clip', [None, dict(max_norm=1.0)])
def test_inf_gradient_step_raises_with_weights_not_finite(kind, clip):
    model = _model().train()
    wrapper = _build(kind, model, f'checked_inf_{kind.__name__}_{clip}',
                     clip_grad=clip)
    set_iteration(4, 12)
    handle = model[0].weight.register_hook(lambda g: g + float('inf'))
    with pytest.raises(NonFiniteError) as err:
        _step(wrapper, model, _inputs())
    handle.remove()
    norm = ' (gradient norm inf)' if clip else ''
    assert str(err.value) == (
        "the optimizer step of iteration 5/12 made the student's weights "
        f'non-finite{norm}; the teacher was not updated and nothing was '
        'saved')
    assert not err.value.weights_finite
    assert not torch.isfinite(model[0].weight).all()


@pytest.mark.parametrize('kind', WRAPPERS)
def test_finite_steps_equal_the_plain_wrapper(kind):
    model, reference = _model().train(), _model().train()
    wrapper = _build(kind, model, f'checked_plain_{kind.__name__}',
                     clip_grad=dict(max_norm=1.0))
    reference_wrapper = _build(OptimWrapper, reference, 'plain_reference',
                               clip_grad=dict(max_norm=1.0))
    for i in range(3):
        set_iteration(i, 3)
        _step(wrapper, model, _inputs(i + 1.0))
        _step(reference_wrapper, reference, _inputs(i + 1.0))
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_gradient_accumulation_checks_the_weights_after_the_step():
    """With accumulative_counts=2 the Inf gradient of the first micro-batch
    reaches the weights at the second, where the error is raised."""
    model = _model().train()
    wrapper = _build(CheckedOptimWrapper, model, 'checked_accumulation',
                     accumulative_counts=2)
    wrapper.initialize_count_status(model, 0, 4)
    set_iteration(0, 4)
    handle = model[0].weight.register_hook(lambda g: g + float('inf'))
    _step(wrapper, model, _inputs())  # accumulated, no step yet
    handle.remove()
    assert torch.isfinite(model[0].weight).all()
    set_iteration(1, 4)
    with pytest.raises(NonFiniteError, match='iteration 2/4') as err:
        _step(wrapper, model, _inputs())
    assert not err.value.weights_finite
