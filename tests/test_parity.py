"""ConMIM computes what the official implementation computes.

The reference is one iteration of the official code (github
TencentARC/ConMIM, fp32, CPU; ``tests/helpers/parity.py``), against our model
built from ``configs/conmim/vit-b_300e.py`` at the same tiny size (32 wide,
2 blocks, projector 128 hidden / 32 out) with the official weights converted
by ``conmim_mm.checkpoints``.

* Always: against the stored fixture ``tests/data/parity/
  official_reference.pth`` (written on another CPU), with tolerances that
  hold on any x86 CPU (``parity.ANY_CPU``); and four real mistakes fail that
  comparison.
* With ``CONMIM_OFFICIAL_ROOT`` naming a checkout of the official code: the
  official iteration is also run here and compared at the tight tolerances
  of one machine (``parity.SAME_MACHINE``).

The fixture is rewritten with::

    .venv/bin/python tests/data/parity/make_official_reference.py \
        /path/to/ConMIM tests/data/parity/official_reference.pth

Our model runs the official matmul-softmax-matmul attention
(``attention='stock'``): the default ``scaled_dot_product_attention`` equals
it to float rounding (tests/test_fast_backbone.py), which is all of the
gradient of the final LayerNorm bias (analytically 0).
"""
import os
import os.path as osp

import pytest
import torch

import parity
from common import ROOT, build_conmim, tiny_conmim_cfg
from conmim_mm.checkpoints import conmim_to_official, official_to_conmim

REFERENCE = osp.join(ROOT, 'tests', 'data', 'parity', 'official_reference.pth')
OFFICIAL_ROOT = os.environ.get('CONMIM_OFFICIAL_ROOT')


@pytest.fixture(scope='module')
def reference():
    return torch.load(REFERENCE, weights_only=True)


@pytest.fixture(scope='module')
def ours(reference):
    return parity.our_step(reference)


def test_fixture_settings_are_the_config_settings(reference):
    cfg = tiny_conmim_cfg('vit-b_300e.py')
    settings = reference['settings']
    assert cfg.optim_wrapper.clip_grad.max_norm == settings['clip']
    assert cfg.optim_wrapper.optimizer.betas == settings['betas']
    assert cfg.optim_wrapper.optimizer.weight_decay == settings[
        'weight_decay']
    assert cfg.model.head.temperature == settings['temperature']
    assert cfg.model.teacher_momentum == settings['momentum']


def test_one_iteration_equals_official_on_any_cpu(reference, ours):
    assert parity.compare(reference, ours, parity.ANY_CPU) == []
    # the step changed the teacher, and not into the student
    initial = official_to_conmim(reference['initial'])
    key = 'teacher.backbone.layers.0.attn.qkv.weight'
    state = ours['state']
    assert not torch.equal(state[key], initial[key])
    assert not torch.equal(state[key], state[key[len('teacher.'):]])


def test_cross_cpu_tolerances_stay_tight(reference, ours):
    """The tolerances admit rounding, not real differences: the loss within
    1e-5, and most weights after the step within 1e-6 of the official."""
    assert parity.ANY_CPU['loss'] == 1e-5
    expected = official_to_conmim(reference['student'],
                                  reference['teacher'])
    close = sum(int(((ours['state'][k] - v).abs() <= 1e-6).sum())
                for k, v in expected.items() if 'running_' not in k
                and 'num_batches' not in k)
    total = sum(v.numel() for k, v in expected.items()
                if 'running_' not in k and 'num_batches' not in k)
    assert close / total > 0.99


@pytest.mark.parametrize('mistake', sorted(parity.MISTAKES))
def test_real_mistakes_fail_the_comparison(reference, mistake):
    failures = parity.compare(reference, parity.our_step(reference, mistake),
                              parity.ANY_CPU)
    assert failures, f'{mistake} passed the comparison'


@pytest.mark.skipif(
    not OFFICIAL_ROOT,
    reason='set CONMIM_OFFICIAL_ROOT to a checkout of the official code')
def test_one_iteration_equals_official_on_this_machine():
    from official_code import import_official_code
    reference = parity.official_step(import_official_code(OFFICIAL_ROOT))
    ours = parity.our_step(reference)
    assert parity.compare(reference, ours, parity.SAME_MACHINE) == []
    # the iteration the fixture holds, up to this machine's rounding
    stored = torch.load(REFERENCE, weights_only=True)
    for name in ('query', 'key', 'mask'):
        assert torch.equal(reference[name], stored[name]), name


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
