"""ConMIMHead: the per-image patch InfoNCE, with numbers."""
import math

import pytest
import torch

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
