"""One ConMIM iteration, ours and the official one, and their comparison.

``official_step`` runs one training iteration of the *official* code (github
TencentARC/ConMIM: ``modeling_pretrain.py``,
``engine_for_pretraining.train_one_epoch``,
``optim_factory.get_parameter_groups``, ``masking_generator.MaskGenerator``)
on CPU in fp32: a 2-block ViT (32 wide, 2 heads, 224 input, since the
official loss hard-codes 196 patches), projector 32 -> 128 -> 128 -> 32,
batch 2, AdamW lr 1e-3 betas (0.9, 0.98) wd 0.05, clip 3.0, teacher momentum
0.996. ``our_step`` runs the same iteration through our model, built from
``configs/conmim/vit-b_300e.py`` at the same size, from the same weights,
images and mask. ``compare`` lists where the two disagree.

Two sets of tolerances:

* ``SAME_MACHINE``: both iterations computed here, in the same arithmetic;
  what they agree to is float rounding of one machine.
* ``ANY_CPU``: against the stored fixture, written on another CPU. A gradient
  that is analytically zero (the final LayerNorm bias: BatchNorm follows the
  projector's first linear layer) is pure rounding noise, which differs
  between CPUs; so every gradient is judged against the size of the
  gradients of the whole model, not against itself. AdamW's first step moves
  an element by about ``lr * sign(g)``, so a noise-level gradient element can
  move its weight by up to ``2 * lr`` on another CPU; the step is therefore
  judged element by element against the difference that the two sets of
  gradients themselves explain through AdamW's first update.
"""
import math
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

from common import build_conmim, tiny_conmim_cfg, train_mode
from conmim_mm.checkpoints import official_to_conmim

SEED = 0
LR, WEIGHT_DECAY, BETAS, EPS, CLIP = 1e-3, 0.05, (0.9, 0.98), 1e-8, 3.0
MOMENTUM = 0.996

#: Same machine, same arithmetic: loss, gradients (relative to each
#: tensor's largest element), weights after the step.
SAME_MACHINE = dict(loss=1e-5, grad_rtol=1e-4, grad_floor=0.0, step=1e-6)
#: Against the fixture written on another CPU: gradients within 1e-4 of the
#: larger of their own size and 1e-2 of the model's largest gradient (an
#: analytically zero gradient is rounding noise of about 1e-7 of the
#: largest); the step within 1e-6 plus what AdamW's first update makes of
#: the gradient difference.
ANY_CPU = dict(loss=1e-5, grad_rtol=1e-4, grad_floor=1e-2, step=1e-6,
               adamw_first_step=True)

StateDict = Dict[str, torch.Tensor]


def to_input(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> the float input both implementations see (exact)."""
    return (pixels.float() - 127.5) / 64


# ----------------------------------------------------------------- official
def _official_model(official) -> nn.Module:
    from functools import partial
    return official.modeling.VisionTransformerForMaskedImageModeling(
        img_size=224, patch_size=16, embed_dim=32, depth=2, num_heads=2,
        mlp_ratio=4, qkv_bias=True, vocab_size=16, dim=32, mlp_dim=128,
        norm_layer=partial(nn.LayerNorm, eps=1e-6), init_values=0.1,
        use_abs_pos_emb=False, use_shared_rel_pos_bias=True,
        use_mlp_projectors=True)


def _weights(model: nn.Module) -> StateDict:
    """State dict without the (derived, large) relative position index."""
    return {k: v.clone() for k, v in model.state_dict().items()
            if not k.endswith('relative_position_index')}


class _Wrapped(nn.Module):
    """Stands in for DistributedDataParallel (the engine uses ``.module``)."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)


class _Scaler:
    """fp32 stand-in for the official NativeScaler; keeps the gradients."""

    def __init__(self):
        self.grads = None

    def __call__(self, loss, optimizer, clip_grad, parameters,
                 create_graph=False):
        loss.backward(create_graph=create_graph)
        parameters = list(parameters)
        self.grads = {id(p): p.grad.clone() for p in parameters
                      if p.grad is not None}
        norm = torch.nn.utils.clip_grad_norm_(parameters, clip_grad)
        optimizer.step()
        return norm

    def state_dict(self):
        return {'scale': 1.0}


def official_step(official) -> dict:
    """One official iteration from seeded weights, images and mask.

    Args:
        official (types.SimpleNamespace): The official modules
            (``official_code.import_official_code``).

    Returns:
        dict: ``initial``, ``student``, ``teacher`` (official key names),
        ``query``/``key`` (uint8 pixels), ``mask`` (2, 196), ``loss``,
        ``grads`` (student), ``relative_position_index`` and ``settings``:
        the content of ``tests/data/parity/official_reference.pth``.
    """
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    synchronize = torch.cuda.synchronize
    torch.cuda.synchronize = lambda: None  # the engine calls it; CPU run
    try:
        student = _official_model(official)
        teacher = _official_model(official)
        teacher.load_state_dict(student.state_dict())  # as official main()
        teacher.requires_grad_(False)
        initial = _weights(student)
        query = torch.randint(0, 256, (2, 3, 224, 224), dtype=torch.uint8)
        key = torch.randint(0, 256, (2, 3, 224, 224), dtype=torch.uint8)
        generator = official.masking.MaskGenerator(
            input_size=224, mask_ratio=0.75)
        mask = torch.from_numpy(np.stack([generator(),
                                          generator()])).bool()
        loader = [((to_input(query), to_input(key), mask), None)]
        groups = official.optim_factory.get_parameter_groups(
            student, WEIGHT_DECAY, student.no_weight_decay())
        optimizer = torch.optim.AdamW(groups, lr=LR, betas=BETAS, eps=EPS)
        scaler = _Scaler()
        names = {id(p): n for n, p in student.named_parameters()}
        stats = official.engine.train_one_epoch(
            _Wrapped(student), loader, optimizer, torch.device('cpu'), 0,
            scaler, [MOMENTUM], teacher, teacher, 0.1, CLIP, start_steps=0)
    finally:
        torch.cuda.synchronize = synchronize
    return dict(
        initial=initial, query=query, key=key, mask=mask,
        loss=torch.tensor(stats['loss'], dtype=torch.float64),
        grads={names[i]: g for i, g in scaler.grads.items()},
        student=_weights(student), teacher=_weights(teacher),
        relative_position_index=student.rel_pos_bias.
        relative_position_index.to(torch.int16),
        settings=dict(lr=LR, weight_decay=WEIGHT_DECAY, betas=BETAS,
                      clip=CLIP, momentum=MOMENTUM, temperature=0.1))


# ---------------------------------------------------------------------- ours
def _teacher_is_student(model, masks):
    model.teacher = nn.ModuleDict(
        dict(backbone=model.backbone, neck=model.neck))


def _masked_teacher(model, masks):
    forward = model.teacher.backbone.forward
    model.teacher.backbone.forward = lambda x, mask=None: forward(x, masks)


#: Mistakes the comparison must catch: name -> (config change, model change).
MISTAKES: Dict[str, tuple] = {
    'teacher replaced by the student': (None, _teacher_is_student),
    'temperature 0.2 for 0.1': (
        lambda cfg: cfg.model.head.update(temperature=0.2), None),
    'projector without its last BatchNorm': (
        lambda cfg: cfg.model.neck.update(with_last_bn=False), None),
    'mask applied to the teacher': (None, _masked_teacher),
}


def our_step(reference: dict, mistake: Optional[str] = None) -> dict:
    """Our model through the iteration of ``reference``.

    Args:
        reference (dict): From :func:`official_step` (or the fixture).
        mistake (str, optional): A key of :data:`MISTAKES` to build in.

    Returns:
        dict: ``loss`` (float), ``grads`` (student, our key names),
        ``state`` (state dict after the step and the teacher update) and
        ``momentum``.
    """
    change_cfg, change_model = MISTAKES[mistake] if mistake else (None, None)
    torch.manual_seed(0)
    cfg = tiny_conmim_cfg('vit-b_300e.py')
    # the official matmul-softmax-matmul attention (see test_parity.py)
    cfg.model.backbone.attention = 'stock'
    if change_cfg:
        change_cfg(cfg)
    model = build_conmim(cfg)
    state = official_to_conmim(reference['initial'])
    model.load_state_dict(state, strict=False)
    train_mode(model)
    masks = reference['mask'].reshape(-1, 14, 14)
    samples = []
    for mask in masks:
        sample = DataSample()
        sample.set_mask(mask)
        samples.append(sample)
    if change_model:
        change_model(model, masks)
    inputs = [to_input(reference['query']), to_input(reference['key'])]

    settings = reference['settings']
    cfg.optim_wrapper.type = 'OptimWrapper'
    cfg.optim_wrapper.pop('loss_scale', None)
    cfg.optim_wrapper.optimizer.lr = settings['lr']
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)

    loss = model.loss(inputs, samples)['loss']
    optim_wrapper.backward(loss)
    grads = {k: p.grad.clone() for k, p in model.named_parameters()
             if p.grad is not None}
    optim_wrapper.step()
    momentum = model.momentum_update(0, 1000)
    return dict(loss=loss.item(), grads=grads, state=model.state_dict(),
                momentum=momentum)


# ---------------------------------------------------------------- comparison
def _clip_factor(grads: List[torch.Tensor], max_norm: float) -> float:
    """The factor ``clip_grad_norm_`` scales these gradients by."""
    norm = torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(g) for g in grads])).item()
    return min(1.0, max_norm / (norm + 1e-6))


def _first_adamw_update(grad: torch.Tensor, eps: float) -> torch.Tensor:
    """AdamW's first update direction (bias-corrected): g / (|g| + eps)."""
    grad = grad.double()
    return grad / (grad.abs() + eps)


def compare(reference: dict, ours: dict, tol: dict) -> List[str]:
    """Where our iteration disagrees with the official one.

    Args:
        reference (dict): From :func:`official_step` or the fixture.
        ours (dict): From :func:`our_step`.
        tol (dict): :data:`SAME_MACHINE` or :data:`ANY_CPU`.

    Returns:
        list[str]: One line per disagreement; empty when they agree.
    """
    failures = []
    loss_diff = abs(ours['loss'] - reference['loss'].item())
    if not loss_diff <= tol['loss']:
        failures.append(f'loss differs by {loss_diff:.3g}')

    official = {k: v for k, v in official_to_conmim(reference['grads']).items()
                if not k.startswith('teacher.')}
    grads = ours['grads']
    if set(grads) != set(official):
        failures.append(f'gradient keys differ: ours only '
                        f'{sorted(set(grads) - set(official))}, official '
                        f'only {sorted(set(official) - set(grads))}')
        return failures
    largest = max(g.abs().max().item() for g in official.values())
    allowed = {}
    for key, ref in official.items():
        scale = max(ref.abs().max().item(), tol['grad_floor'] * largest)
        allowed[key] = tol['grad_rtol'] * scale
        diff = (grads[key] - ref).abs().max().item()
        if not diff <= allowed[key]:
            failures.append(f'gradient of {key} differs by {diff:.3g} '
                            f'(allowed {allowed[key]:.3g})')

    settings = reference['settings']
    keys = sorted(official)
    factors = (_clip_factor([grads[k] for k in keys], settings['clip']),
               _clip_factor([official[k] for k in keys], settings['clip']))
    if not math.isclose(ours['momentum'], settings['momentum'],
                        abs_tol=1e-12):
        failures.append(f'teacher momentum {ours["momentum"]} '
                        f'(official {settings["momentum"]})')
    expected = official_to_conmim(reference['student'], reference['teacher'])
    state = ours['state']
    missing = sorted(set(expected) - set(state))
    if missing:
        failures.append(f'missing after the step: {missing}')
    for key, ref in expected.items():
        if key not in state or 'running_' in key or 'num_batches' in key:
            continue  # BN buffers are not averaged, only parameters
        allowed_step = torch.full_like(ref, tol['step'], dtype=torch.float64)
        student_key = key[len('teacher.'):] if key.startswith(
            'teacher.') else key
        if tol.get('adamw_first_step') and student_key in grads:
            # what the two gradients make of AdamW's first update
            moved = settings['lr'] * (
                _first_adamw_update(factors[0] * grads[student_key],
                                    EPS) -
                _first_adamw_update(factors[1] * official[student_key],
                                    EPS)).abs()
            if key.startswith('teacher.'):
                moved = moved * (1 - settings['momentum'])
            allowed_step = allowed_step + 1.01 * moved
        diff = (state[key].double() - ref.double()).abs()
        if not bool((diff <= allowed_step).all()):
            worst = (diff - allowed_step).argmax()
            failures.append(
                f'{key} after the step differs by '
                f'{diff.flatten()[worst].item():.3g} (allowed '
                f'{allowed_step.flatten()[worst].item():.3g})')
    return failures

