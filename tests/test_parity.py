"""ConMIM computes what the official implementation computes.

Reference values come from one iteration of the official code (github
TencentARC/ConMIM, fp32, CPU), produced by
``tests/data/parity/make_official_reference.py`` with:

    .venv/bin/python \
        tests/data/parity/make_official_reference.py /path/to/ConMIM \
        tests/data/parity/official_reference.pth

The official weights are converted with ``conmim_mm.official`` (the code of
``tools/model_converters/official2conmim.py``) into the model built from
``configs/conmim/vit-b_300e.py`` with a tiny ViT (32 wide, 2 blocks) and
projector (128 hidden, 32 out), and the optimizer comes from the same config.
"""
import os.path as osp

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

from conftest import ROOT, build_conmim, set_iteration, tiny_conmim_cfg
from conmim_mm.official import conmim_to_official, official_to_conmim

REFERENCE = osp.join(ROOT, 'tests', 'data', 'parity', 'official_reference.pth')


def to_input(pixels: torch.Tensor) -> torch.Tensor:
    return (pixels.float() - 127.5) / 64


@pytest.fixture(scope='module')
def reference():
    return torch.load(REFERENCE, weights_only=True)


@pytest.fixture(scope='module')
def one_step(reference):
    """Our model after the same iteration: loss, grads, student, teacher."""
    torch.manual_seed(0)
    cfg = tiny_conmim_cfg('vit-b_300e.py')
    # the official matmul-softmax-matmul attention; the default
    # scaled_dot_product_attention equals it to float rounding
    # (tests/test_fast_backbone.py), which is all of the gradient of the
    # final LayerNorm bias (analytically 0: BatchNorm follows the projector's
    # first linear layer), so it is compared here in the official arithmetic
    cfg.model.backbone.attention = 'stock'
    model = build_conmim(cfg)
    state = official_to_conmim(reference['initial'])
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert unexpected == []
    assert all(k.endswith('relative_position_index') for k in missing)
    model.train()

    samples = []
    for mask in reference['mask']:
        sample = DataSample()
        sample.set_mask(mask.reshape(14, 14))
        samples.append(sample)
    inputs = [to_input(reference['query']), to_input(reference['key'])]

    settings = reference['settings']
    cfg.optim_wrapper.type = 'OptimWrapper'
    cfg.optim_wrapper.pop('loss_scale')
    cfg.optim_wrapper.optimizer.lr = settings['lr']
    assert cfg.optim_wrapper.clip_grad.max_norm == settings['clip']
    assert cfg.optim_wrapper.optimizer.betas == settings['betas']
    assert cfg.optim_wrapper.optimizer.weight_decay == settings[
        'weight_decay']
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)

    loss = model.loss(inputs, samples)['loss']
    optim_wrapper.backward(loss)
    grads = {k: p.grad.clone() for k, p in model.named_parameters()
             if p.grad is not None}
    optim_wrapper.step()
    set_iteration(0, 1000)
    momentum = model.momentum_update()
    return dict(loss=loss.item(), grads=grads, state=model.state_dict(),
                momentum=momentum)


def test_loss_equals_official(reference, one_step):
    assert abs(one_step['loss'] - reference['loss'].item()) <= 1e-5


def test_gradients_equal_official(reference, one_step):
    ours = one_step['grads']
    official = official_to_conmim(reference['grads'])
    official = {k: v for k, v in official.items()
                if not k.startswith('teacher.')}
    assert set(ours) == set(official)
    for key, ref in official.items():
        relative = (ours[key] - ref).abs().max() / ref.abs().max()
        assert relative <= 1e-4, (key, relative.item())


def test_student_and_teacher_after_step_equal_official(reference, one_step):
    assert one_step['momentum'] == pytest.approx(0.996, abs=1e-12)
    expected = official_to_conmim(reference['student'], reference['teacher'])
    state = one_step['state']
    for key, ref in expected.items():
        if 'running_' in key or 'num_batches' in key:
            continue  # BN buffers are not averaged, only parameters
        diff = (state[key] - ref).abs().max().item()
        assert diff <= 1e-6, (key, diff)
    # the step changed the teacher, and not into the student
    initial = official_to_conmim(reference['initial'])
    key = 'teacher.backbone.layers.0.attn.qkv.weight'
    assert not torch.equal(state[key], initial[key])
    assert not torch.equal(state[key], state[key[len('teacher.'):]])


def test_official_layout_round_trip(reference):
    ours = official_to_conmim(reference['student'], reference['teacher'])
    student, teacher = conmim_to_official(ours, vocab_size=16)
    for original, back in ((reference['student'], student),
                           (reference['teacher'], teacher)):
        assert set(back) == set(original)
        for key, value in original.items():
            if not key.startswith('lm_head'):
                assert torch.equal(back[key], value), key


def test_relative_position_index_equals_official(reference):
    cfg = tiny_conmim_cfg('vit-b_300e.py')
    model = build_conmim(cfg)
    ours = model.backbone.rel_pos_bias.relative_position_index
    assert torch.equal(ours, reference['relative_position_index'].long())
