"""PortableAmpOptimWrapper: fp32 on a CPU (checkpoints keep the AMP layout),
bf16 without loss scaling on GPUs that have it, fp16 with it elsewhere;
bf16 or fp16 autocast on a CPU when asked for (cpu_autocast=True)."""
import copy
import logging

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.optim.optimizer import amp_optimizer_wrapper

from conmim_mm.engine.optimizers import (CheckedAmpOptimWrapper,
                                         PortableAmpOptimWrapper)
from conmim_mm.engine.optimizers import portable_amp_optim_wrapper
from conmim_mm.errors import ConfigError

WRAPPERS = [PortableAmpOptimWrapper, CheckedAmpOptimWrapper]
SCALER_KEYS = {'scale', 'growth_factor', 'backoff_factor', 'growth_interval',
               '_growth_tracker'}


@pytest.fixture
def no_gpu(monkeypatch):
    """A machine without an accelerator (also where there is one)."""
    monkeypatch.setattr(portable_amp_optim_wrapper, 'has_accelerator',
                        lambda: False)


@pytest.fixture
def fake_cuda(monkeypatch):
    """A CUDA machine whose GPU has native bfloat16 or not.

    mmengine's ``AmpOptimWrapper`` asserts a GPU and builds a CUDA
    GradScaler, which disables itself without CUDA; it builds a CPU one here
    (the same scaling logic and state dict).
    """
    def install(native_bf16: bool) -> None:
        monkeypatch.setattr(portable_amp_optim_wrapper, 'is_cuda_available',
                            lambda: True)
        monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                            lambda: True)
        # pre-Ampere GPUs report emulated bfloat16 unless asked not to
        monkeypatch.setattr(
            torch.cuda, 'is_bf16_supported',
            lambda including_emulation=True: native_bf16 or
            including_emulation)
        monkeypatch.setattr(amp_optimizer_wrapper, 'GradScaler',
                            lambda **kwargs: torch.amp.GradScaler(
                                'cpu', **kwargs))
    return install


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))


def _inputs(i: int) -> torch.Tensor:
    return torch.randn(
        6, 4, generator=torch.Generator().manual_seed(i)) * (i + 1)


def _build(kind, model, **kwargs):
    return kind(optimizer=torch.optim.AdamW(model.parameters(), lr=0.1),
                **kwargs)


def _train(wrapper, model, iterations: int = 3) -> None:
    for i in range(iterations):
        with wrapper.optim_context(model):
            loss = model(_inputs(i)).pow(2).mean()
        wrapper.update_params(loss)


# ------------------------------------------------------------------- CPU
@pytest.fixture
def warnings_logged():
    """The warnings logged to mmengine's current logger during the test."""
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.mark.parametrize('kind', WRAPPERS)
def test_builds_on_cpu_with_a_warning(kind, no_gpu, warnings_logged):
    wrapper = _build(kind, _model(), dtype='bfloat16', loss_scale=512.)
    assert isinstance(wrapper, kind) and not isinstance(wrapper,
                                                        AmpOptimWrapper)
    assert warnings_logged == [
        f'{type(wrapper).__name__}: no GPU, so mixed precision is off: '
        'training in fp32']
    assert type(wrapper) is kind.on_cpu
    assert wrapper.cast_dtype is None
    assert not wrapper.loss_scaler.is_enabled()


@pytest.mark.parametrize('kind', WRAPPERS)
def test_trains_in_fp32_on_cpu(kind, no_gpu):
    model, reference = _model(), _model()
    wrapper = _build(kind, model, clip_grad=dict(max_norm=1.0))
    with wrapper.optim_context(model):
        assert not torch.is_autocast_enabled('cpu')
        assert model(_inputs(0)).dtype == torch.float32
    _train(wrapper, model)
    _train(_build(OptimWrapper, reference, clip_grad=dict(max_norm=1.0)),
           reference)
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


@pytest.mark.parametrize('kind', WRAPPERS)
def test_state_dict_round_trips_on_cpu(kind, no_gpu, tmp_path):
    model = _model()
    wrapper = _build(kind, model)
    _train(wrapper, model)
    state = copy.deepcopy(wrapper.state_dict())
    assert state['loss_scaler'] == {}  # the AMP layout, a disabled scaler
    torch.save(state, str(tmp_path / 'optimizer.pth'))
    loaded = torch.load(str(tmp_path / 'optimizer.pth'), weights_only=True)
    other = _build(kind, _model())
    other.load_state_dict(loaded)
    _assert_same_optimizer_state(other.state_dict(), state)


def _assert_same_optimizer_state(got: dict, expected: dict) -> None:
    assert got['state'].keys() == expected['state'].keys()
    for index, values in expected['state'].items():
        for name, value in values.items():
            assert torch.equal(got['state'][index][name], value), (index,
                                                                   name)
    assert [g['lr'] for g in got['param_groups']] == \
        [g['lr'] for g in expected['param_groups']]


def _gpu_scaler_state() -> dict:
    """The ``loss_scaler`` entry of an fp16 run: a GradScaler that backed
    off once and grew twice (``torch.amp.GradScaler('cuda')`` writes the
    same keys and values)."""
    scaler = torch.amp.GradScaler('cpu', init_scale=1024.,
                                  growth_interval=1)
    weight = nn.Parameter(torch.ones(2))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    for factor in (float('inf'), 1.0, 1.0):
        scaler.scale(weight.sum() * factor).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad()
    state = scaler.state_dict()
    assert set(state) == SCALER_KEYS and state['scale'] == 2048.
    return state


@pytest.mark.parametrize('kind', WRAPPERS)
def test_a_gpu_checkpoint_loads_on_cpu(kind, no_gpu):
    model = _model()
    wrapper = _build(kind, model)
    _train(wrapper, model)
    state = dict(copy.deepcopy(wrapper.state_dict()),
                 loss_scaler=_gpu_scaler_state())
    other = _build(kind, _model())
    other.load_state_dict(dict(state))
    _assert_same_optimizer_state(other.state_dict(), state)
    assert not other.loss_scaler.is_enabled()
    assert other.state_dict()['loss_scaler'] == {}


# ------------------------------------------------------ GPU (monkeypatched)
@pytest.mark.parametrize('kind', WRAPPERS)
def test_bf16_without_loss_scaling_where_the_gpu_has_it(kind, fake_cuda):
    fake_cuda(native_bf16=True)
    wrapper = _build(kind, _model())
    assert isinstance(wrapper, kind) and isinstance(wrapper, AmpOptimWrapper)
    assert type(wrapper) is kind.on_accelerator
    assert wrapper.cast_dtype == torch.bfloat16
    assert not wrapper.loss_scaler.is_enabled()


@pytest.mark.parametrize('kind', WRAPPERS)
def test_fp16_with_dynamic_loss_scaling_elsewhere(kind, fake_cuda):
    fake_cuda(native_bf16=False)
    wrapper = _build(kind, _model())
    assert wrapper.cast_dtype == torch.float16
    assert wrapper.loss_scaler.is_enabled()
    assert wrapper.loss_scaler.get_scale() == 2.0**16


def test_explicit_dtype_is_kept(fake_cuda):
    fake_cuda(native_bf16=True)
    fp16 = _build(PortableAmpOptimWrapper, _model(), dtype='float16',
                  loss_scale=512.)
    assert fp16.cast_dtype == torch.float16
    assert fp16.loss_scaler.is_enabled()
    assert fp16.loss_scaler.get_scale() == 512.
    fake_cuda(native_bf16=False)
    for dtype in ('bfloat16', torch.bfloat16):
        bf16 = _build(PortableAmpOptimWrapper, _model(), dtype=dtype,
                      loss_scale='dynamic')
        assert bf16.cast_dtype == torch.bfloat16
        assert not bf16.loss_scaler.is_enabled()


def test_fp16_resumes_from_a_checkpoint_without_scaler_state(fake_cuda):
    """A checkpoint of a CPU or bf16 run (empty ``loss_scaler``) resumes
    under fp16 with a fresh scale; an fp16 one restores its scale."""
    fake_cuda(native_bf16=False)
    wrapper = _build(PortableAmpOptimWrapper, _model())
    state = wrapper.state_dict()
    wrapper.load_state_dict(dict(state, loss_scaler={}))
    assert wrapper.loss_scaler.get_scale() == 2.0**16
    wrapper.load_state_dict(dict(state, loss_scaler=_gpu_scaler_state()))
    assert wrapper.loss_scaler.get_scale() == 2048.
    fake_cuda(native_bf16=True)
    bf16 = _build(PortableAmpOptimWrapper, _model())
    bf16.load_state_dict(dict(state, loss_scaler=_gpu_scaler_state()))
    assert not bf16.loss_scaler.is_enabled()


# ------------------------------------------------- CPU autocast (opt-in)
@pytest.mark.parametrize('dtype, expected', [(None, torch.bfloat16),
                                             ('bfloat16', torch.bfloat16),
                                             ('float16', torch.float16)])
def test_cpu_autocast_is_an_explicit_opt_in(dtype, expected, no_gpu,
                                            warnings_logged):
    model = _model()
    wrapper = _build(PortableAmpOptimWrapper, model, dtype=dtype,
                     cpu_autocast=True, loss_scale=dict(init_scale=256.))
    assert warnings_logged == []
    assert wrapper.cast_dtype == expected
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu')
        assert torch.get_autocast_dtype('cpu') == expected
        assert model(_inputs(0)).dtype == expected
    assert not torch.is_autocast_enabled('cpu')
    # float16 scales the loss (here from 256), bfloat16 has no scaler
    assert wrapper.loss_scaler.is_enabled() == (expected == torch.float16)
    if expected == torch.float16:
        assert wrapper.loss_scaler.get_scale() == 256.
    before = copy.deepcopy(model.state_dict())
    _train(wrapper, model)
    assert not torch.equal(model.state_dict()['0.weight'], before['0.weight'])


@pytest.mark.parametrize('loss_scale, scale, after_overflow', [
    ('dynamic', 2.0**16, 2.0**15), (512., 512., 512.),
    (dict(init_scale=8., growth_interval=10), 8., 4.)])
def test_cpu_float16_loss_scale_as_amp_optim_wrapper(loss_scale, scale,
                                                     after_overflow, no_gpu):
    """'dynamic', a dict: a dynamic scale, halved by an overflow; a float:
    a static scale."""
    model = _model()
    wrapper = _build(PortableAmpOptimWrapper, model, dtype='float16',
                     cpu_autocast=True, loss_scale=loss_scale)
    assert wrapper.loss_scaler.get_scale() == scale
    before = copy.deepcopy(model.state_dict())
    with wrapper.optim_context(model):
        loss = model(_inputs(0)).float().pow(2).mean() * float('inf')
    wrapper.update_params(loss)
    assert wrapper.loss_scaler.get_scale() == after_overflow
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key  # the step was skipped


def test_cpu_autocast_refuses_other_types(no_gpu):
    with pytest.raises(ConfigError, match='must be bfloat16 or float16 with '
                       'cpu_autocast=True, got float32'):
        _build(PortableAmpOptimWrapper, _model(), dtype='float32',
               cpu_autocast=True)


def test_cpu_autocast_has_no_effect_with_a_gpu(fake_cuda):
    fake_cuda(native_bf16=False)
    wrapper = _build(PortableAmpOptimWrapper, _model(), cpu_autocast=True)
    assert isinstance(wrapper, AmpOptimWrapper)
    assert wrapper.cast_dtype == torch.float16  # the GPU's default
