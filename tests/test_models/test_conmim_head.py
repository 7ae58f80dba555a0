"""ConMIMHead: the per-image patch InfoNCE, with numbers."""
import math

import pytest
import torch
import torch.nn.functional as F

from conmim_mm.models import ConMIMHead


def test_head_matches_hand_computation():
    """One-hot features: q_j . k_i = [i == j], so for N positions
    loss_j = log(1 + (N - 1) * exp(-1 / t)) at every masked position."""
    num = 6
    features = torch.eye(num).unsqueeze(0).repeat(2, 1, 1) * 3.0  # norm 3
    mask = torch.zeros(2, num, dtype=torch.bool)
    mask[0, :4] = True
    mask[1, 2] = True
    head = ConMIMHead(temperature=0.1)
    loss = head.loss(features, features.clone(), mask)['loss']
    # (fp32 log-sum-exp of logits near 10: absolute precision ~1e-6)
    assert loss.item() == pytest.approx(math.log(1 + 5 * math.exp(-10)),
                                        abs=1e-6)
    # unmasked queries do not count; a wrong masked one does
    student = features.clone()
    student[0, 5] = -student[0, 5]  # unmasked
    assert head.loss(student, features, mask)['loss'].item() == \
        pytest.approx(loss.item(), abs=1e-7)
    student[1, 2] = features[1, 3]  # masked, now matches key 3 instead of 2
    wrong = -math.log(1 / (1 + 5 * math.exp(-10)) * math.exp(-10))
    expected = (4 * loss.item() + wrong) / 5
    assert head.loss(student, features, mask)['loss'].item() == \
        pytest.approx(expected, abs=1e-5)


def test_head_is_fp32_under_autocast_and_checks_input():
    head = ConMIMHead()
    student = torch.randn(2, 4, 8).bfloat16()
    teacher = torch.randn(2, 4, 8).bfloat16()
    mask = torch.ones(2, 4, dtype=torch.bool)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = head.loss(student, teacher, mask)['loss']
    assert loss.dtype == torch.float32
    with pytest.raises(ValueError, match='temperature must be > 0'):
        ConMIMHead(temperature=0)
    with pytest.raises(ValueError, match=r'\(B, N\) mask'):
        head.loss(student, teacher, mask[:, :3])


def test_patch_acc_counts_masked_queries_that_pick_their_own_key():
    """Identity features with one masked query redirected: 4 of 5 masked
    positions pick their own key; unmasked wrong queries do not count."""
    num = 6
    features = torch.eye(num).unsqueeze(0).repeat(2, 1, 1)
    mask = torch.zeros(2, num, dtype=torch.bool)
    mask[0, :4] = True
    mask[1, 2] = True
    student = features.clone()
    student[0, 5] = features[0, 0]  # unmasked: ignored
    head = ConMIMHead()
    assert head.loss(student, features, mask)['patch_acc'].item() == 100.0
    student[1, 2] = features[1, 3]  # masked, picks key 3 instead of 2
    assert head.loss(student, features, mask)['patch_acc'].item() == \
        pytest.approx(100.0 * 4 / 5)
    student[0, :4] = features[0, [1, 2, 3, 0]]  # every masked one is wrong
    assert head.loss(student, features, mask)['patch_acc'].item() == 0.0


def test_patch_acc_is_near_chance_for_random_features():
    """Unrelated student and teacher: a match by chance, 1 in N."""
    torch.manual_seed(0)
    num = 16
    student, teacher = torch.randn(2, 256, num, 32).unbind(0)
    mask = torch.ones(256, num, dtype=torch.bool)
    acc = ConMIMHead().loss(student, teacher, mask)['patch_acc'].item()
    # 4096 Bernoulli(1/16) draws: standard deviation 0.38 points
    assert acc == pytest.approx(100 / num, abs=1.6)


def test_patch_acc_leaves_loss_and_gradient_unchanged():
    """The loss and its gradient equal those of the plain cross entropy of
    the same logits; patch_acc has no graph."""
    torch.manual_seed(0)
    student = torch.randn(3, 9, 8, requires_grad=True)
    teacher = torch.randn(3, 9, 8)
    mask = torch.rand(3, 9) < 0.6
    out = ConMIMHead(temperature=0.2).loss(student, teacher, mask)
    assert not out['patch_acc'].requires_grad
    out['loss'].backward()
    reference = student.detach().clone().requires_grad_(True)
    logits = F.normalize(reference, dim=-1) @ F.normalize(
        teacher, dim=-1).transpose(1, 2) / 0.2
    target = torch.arange(9).expand(3, 9)
    expected = F.cross_entropy(logits[mask], target[mask])
    expected.backward()
    assert out['loss'].item() == pytest.approx(expected.item(), abs=1e-6)
    torch.testing.assert_close(student.grad, reference.grad)
