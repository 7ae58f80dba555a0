"""Compute the official ConMIM reference values for tests/test_parity.py.

Runs one training iteration of the *official* code (github TencentARC/ConMIM:
``modeling_pretrain.py``, ``engine_for_pretraining.train_one_epoch``,
``optim_factory.get_parameter_groups``, ``masking_generator.MaskGenerator``)
on CPU in fp32: a 2-block ViT (32 wide, 2 heads, 224 input, since the official
loss hard-codes 196 patches), projector 32 -> 128 -> 128 -> 32, batch 2,
AdamW lr 1e-3 betas (0.9, 0.98) wd 0.05, clip 3.0, teacher momentum 0.996.
It saves the initial weights (official key names), the inputs, the mask, the
loss, the student gradients and the weights after the step and the teacher
update. The official code is not part of this project: check it out anywhere
and point this script at it (timm 1.x must be importable; it is imported by
``conmim_mm.official.import_official_code``):

    git clone https://github.com/TencentARC/ConMIM /tmp/ConMIM
    .venv/bin/python tests/data/parity/make_official_reference.py \
        /tmp/ConMIM tests/data/parity/official_reference.pth
"""
import sys
from functools import partial

import numpy as np
import torch
import torch.nn as nn

from conmim_mm.official import import_official_code

SEED = 0
LR, WEIGHT_DECAY, BETAS, CLIP = 1e-3, 0.05, (0.9, 0.98), 3.0


def build_model(official) -> nn.Module:
    return official.modeling.VisionTransformerForMaskedImageModeling(
        img_size=224, patch_size=16, embed_dim=32, depth=2, num_heads=2,
        mlp_ratio=4, qkv_bias=True, vocab_size=16, dim=32, mlp_dim=128,
        norm_layer=partial(nn.LayerNorm, eps=1e-6), init_values=0.1,
        use_abs_pos_emb=False, use_shared_rel_pos_bias=True,
        use_mlp_projectors=True)


def to_input(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> the float input both implementations see."""
    return (pixels.float() - 127.5) / 64


def weights(model: nn.Module) -> dict:
    """State dict without the (derived, large) relative position index."""
    return {k: v.clone() for k, v in model.state_dict().items()
            if not k.endswith('relative_position_index')}


class Wrapped(nn.Module):
    """Stands in for DistributedDataParallel (the engine uses ``.module``)."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)


class Scaler:
    """fp32 stand-in for the official NativeScaler (no CUDA here)."""

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


def main(official_root: str, out: str) -> None:
    official = import_official_code(official_root)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.cuda.synchronize = lambda: None  # CPU run
    student = build_model(official)
    teacher = build_model(official)
    teacher.load_state_dict(student.state_dict())  # as the official main()
    teacher.requires_grad_(False)
    initial = weights(student)

    # uint8 pixels stored in the fixture; (x - 127.5) / 64 is exact in fp32
    query = torch.randint(0, 256, (2, 3, 224, 224), dtype=torch.uint8)
    key = torch.randint(0, 256, (2, 3, 224, 224), dtype=torch.uint8)
    generator = official.masking.MaskGenerator(input_size=224, mask_ratio=0.75)
    mask = torch.from_numpy(np.stack([generator(), generator()])).bool()
    loader = [((to_input(query), to_input(key), mask), None)]

    groups = official.optim_factory.get_parameter_groups(
        student, WEIGHT_DECAY, student.no_weight_decay())
    optimizer = torch.optim.AdamW(groups, lr=LR, betas=BETAS, eps=1e-8)
    scaler = Scaler()
    names = {id(p): n for n, p in student.named_parameters()}
    stats = official.engine.train_one_epoch(
        Wrapped(student), loader, optimizer, torch.device('cpu'), 0, scaler,
        [0.996], teacher, teacher, 0.1, CLIP, start_steps=0)
    torch.save(
        dict(
            initial=initial,
            query=query, key=key, mask=mask,
            loss=torch.tensor(stats['loss'], dtype=torch.float64),
            grads={names[i]: g for i, g in scaler.grads.items()},
            student=weights(student),
            teacher=weights(teacher),
            relative_position_index=student.rel_pos_bias.
            relative_position_index.to(torch.int16),
            settings=dict(lr=LR, weight_decay=WEIGHT_DECAY, betas=BETAS,
                          clip=CLIP, momentum=0.996, temperature=0.1)),
        out)
    print(f'official loss {stats["loss"]:.6f} -> {out}')


if __name__ == '__main__':
    main(*sys.argv[1:3])
