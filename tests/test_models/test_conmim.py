"""The ConMIM algorithm: loss on any input size, precision, the teacher."""
import pytest
import torch
from mmpretrain.structures import DataSample

from common import build_conmim, tiny_conmim_cfg, train_mode
from conmim_mm.models.algorithms.conmim import cosine_momentum


def _batch(model_size: int, patch: int = 16, batch: int = 2):
    grid = model_size // patch
    inputs = [torch.randn(batch, 3, model_size, model_size) for _ in range(2)]
    samples = []
    for _ in range(batch):
        mask = torch.zeros(grid * grid)
        mask[torch.randperm(grid * grid)[:(grid * grid * 3) // 4]] = 1
        sample = DataSample()
        sample.set_mask(mask.reshape(grid, grid))
        samples.append(sample)
    return inputs, samples


@pytest.mark.parametrize('size', [192, 224, 256])
def test_any_input_size_divisible_by_the_mask_cell(size, tiny_conmim):
    model = tiny_conmim(img_size=size)
    train_mode(model)
    inputs, samples = _batch(size)
    loss = model.loss(inputs, samples)['loss']
    assert torch.isfinite(loss)
    loss.backward()
    assert model.backbone.mask_token.grad is not None
    assert all(p.grad is None for p in model.teacher.parameters())
    features = model.extract_feat(inputs[0])
    assert features[0].shape == (2, (size // 16)**2 + 1, 32)


def test_no_training_loss_without_a_teacher_updater(tiny_conmim):
    """A frozen teacher would be another method: ``loss`` refuses to train
    until an updater is declared, and computes again once one is."""
    model = tiny_conmim(img_size=64)
    model.train()
    inputs, samples = _batch(64)
    with pytest.raises(ValueError, match=r'frozen teacher.*TeacherUpdateHook'):
        model.loss(inputs, samples)
    model.follow_student_with('the test')
    assert torch.isfinite(model.loss(inputs, samples)['loss'])
    model.follow_student_with(None)
    with pytest.raises(ValueError, match=r'frozen teacher'):
        model.loss(inputs, samples)
    model.eval()  # evaluation of the loss trains nothing: no updater needed
    with torch.no_grad():
        assert torch.isfinite(model.loss(inputs, samples)['loss'])


def test_bf16_autocast_loss_matches_fp32(tiny_conmim):
    torch.manual_seed(0)
    model = tiny_conmim(img_size=64)
    train_mode(model)
    inputs, samples = _batch(64)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    fp32 = model.loss(inputs, samples)['loss']
    model.load_state_dict(state)  # undo the BN statistics update
    with torch.autocast('cpu', dtype=torch.bfloat16):
        bf16 = model.loss(inputs, samples)['loss']
    assert bf16.dtype == torch.float32
    assert abs(bf16.item() - fp32.item()) < 0.05 * fp32.item()


def test_momentum_update_follows_the_cosine_schedule(tiny_conmim):
    model = tiny_conmim(img_size=64)
    teacher = model.teacher.backbone.cls_token
    with torch.no_grad():
        model.backbone.cls_token.fill_(1.0)
        teacher.fill_(0.0)
        model.teacher.neck.bn0.running_mean.fill_(7.0)
    for step, expected in [(0, 0.996), (50, 0.998), (100, 1.0)]:
        with torch.no_grad():
            teacher.fill_(0.0)
        momentum = model.momentum_update(step, 100)
        assert momentum == pytest.approx(expected, abs=1e-12)
        assert torch.allclose(teacher, torch.full_like(teacher,
                                                       1 - expected))
    # buffers are not averaged
    assert torch.all(model.teacher.neck.bn0.running_mean == 7.0)


def test_momentum_update_is_the_weighted_mean_for_every_parameter(
        tiny_conmim):
    """``m * teacher + (1 - m) * student`` over all 2 x N parameter tensors
    (random values, fp32), within float rounding of the formula."""
    model = tiny_conmim(img_size=64)
    torch.manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            param.normal_()
    teacher = list(model.teacher.parameters())
    student = list(model.backbone.parameters()) + list(
        model.neck.parameters())
    expected = [0.996 * t + 0.004 * s for t, s in zip(teacher, student)]
    assert model.momentum_update(0, 100) == pytest.approx(0.996, abs=1e-12)
    assert len(teacher) == len(student) > 0
    for updated, want in zip(teacher, expected):
        assert torch.allclose(updated, want, rtol=0, atol=1e-6)


def test_momentum_outside_range_is_rejected():
    cfg = tiny_conmim_cfg('vit-b_800e.py', img_size=64)
    cfg.model.teacher_momentum = 1.0
    with pytest.raises(ValueError, match=r'teacher_momentum must be in'):
        build_conmim(cfg)


def test_cosine_momentum_is_the_official_schedule():
    """``1 - (1 - m0) * (cos(pi * i / n) + 1) / 2``: the official
    ``cosine_scheduler(m0, 1, epochs, steps)`` value at iteration i."""
    assert cosine_momentum(0.996, 0, 10) == pytest.approx(0.996, abs=1e-15)
    assert cosine_momentum(0.996, 5, 10) == pytest.approx(0.998, abs=1e-15)
    assert cosine_momentum(0.99, 10, 10) == pytest.approx(1.0, abs=1e-15)
    assert cosine_momentum(0.996, 2, 12) == pytest.approx(
        1 - 0.004 * (0.8660254037844387 + 1) / 2, abs=1e-15)
