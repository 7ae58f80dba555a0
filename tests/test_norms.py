"""Gradient clipping and the sum of squares behind it and the finiteness
check: the same numbers as PyTorch's, one pass fewer."""
import math

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from conftest import build_conmim, tiny_conmim_cfg
from conmim_mm.norms import clip_grad_norm_, sum_of_squares


def parameters_with_grads(grad_scale: float, bad: float = 1.0):
    """Three parameters; one gradient value multiplied by ``bad``."""
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(n)) for n in (3, 100, 1000)]
    for param in params:
        param.grad = torch.randn_like(param) * grad_scale
    params[1].grad[3] *= bad
    return params


@pytest.mark.parametrize('grad_scale,bad', [(0.01, 1.0), (1.0, 1.0),
                                            (0.01, math.inf),
                                            (0.01, math.nan)])
def test_clipping_equals_pytorch(grad_scale, bad):
    """Unclipped (norm 0.33), clipped (norm 33), Inf and NaN norms: the norm
    and every gradient as ``torch.nn.utils.clip_grad_norm_`` leaves them."""
    ours, theirs = (parameters_with_grads(grad_scale, bad) for _ in range(2))
    norm = clip_grad_norm_(ours, max_norm=3.0)
    ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm=3.0)
    assert torch.allclose(norm, ref, rtol=1e-6, equal_nan=True)
    for mine, other in zip(ours, theirs):
        assert torch.allclose(mine.grad, other.grad, rtol=1e-6, atol=0,
                              equal_nan=True)


def test_unclipped_gradients_are_not_rewritten(monkeypatch):
    """Below ``max_norm`` no multiply runs at all; above it, one."""
    calls = []
    multiply = torch._foreach_mul_
    monkeypatch.setattr(torch, '_foreach_mul_',
                        lambda *a: calls.append(1) or multiply(*a))
    clip_grad_norm_(parameters_with_grads(0.01), max_norm=3.0)
    assert calls == []
    clip_grad_norm_(parameters_with_grads(1.0), max_norm=3.0)
    assert calls == [1]


def test_sum_of_squares_on_cpu_and_through_foreach():
    torch.manual_seed(0)
    tensors = [torch.randn(7, 5), torch.randn(300)]
    expected = sum(float((t.double()**2).sum()) for t in tensors)
    assert float(sum_of_squares(tensors)) == pytest.approx(expected, 1e-6)
    # non-contiguous and float64 tensors take torch._foreach_norm
    other = [tensors[0].t(), tensors[1].double()]
    assert float(sum_of_squares(other)) == pytest.approx(expected, 1e-6)
    assert not torch.isfinite(sum_of_squares(
        [tensors[0], torch.tensor([1.0, math.nan])]))


def test_pretraining_optim_wrapper_clips_with_it():
    cfg = tiny_conmim_cfg('vit-s_300e.py', img_size=64)
    cfg.optim_wrapper.type = 'OptimWrapper'  # AMP needs a GPU
    cfg.optim_wrapper.pop('loss_scale')
    model = build_conmim(cfg)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert wrapper.clip_func is clip_grad_norm_
    assert wrapper.clip_grad_kwargs == dict(max_norm=3.0)
