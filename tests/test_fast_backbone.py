"""Fused attention and checkpointing compute what the stock BEiT path does.

``FastBEiTPretrainViT`` / ``FastBEiTViT`` (``scaled_dot_product_attention``
with the relative position bias as additive mask, optional activation
checkpointing) against mmpretrain's ``BEiTPretrainViT`` / ``BEiTViT``, built
from the real configs with a tiny ViT, in fp32 on CPU.
"""
import math
import os.path as osp
from typing import Optional

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT, build_conmim, tiny_conmim_cfg
from conmim_mm.analysis.step_benchmark import ConMIMStep, synthetic_views

TINY_ARCH = dict(embed_dims=32, num_layers=2, num_heads=2,
                 feedforward_channels=128)


def build(cfg: dict) -> torch.nn.Module:
    import conmim_mm  # noqa: F401
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def without(cfg: dict, *keys: str) -> dict:
    """``cfg`` without ``keys``."""
    return {k: v for k, v in cfg.items() if k not in keys}


def forward_backward(backbone, images, mask=None):
    """Output (B, 1+N, C) and gradients of every parameter."""
    backbone.zero_grad()
    out = backbone(images, mask)[0] if hasattr(backbone, 'mask_token') \
        else backbone(images)[0]
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    grads = {k: p.grad.clone() for k, p in backbone.named_parameters()
             if p.grad is not None}
    return out.detach(), grads


def assert_close(ours, stock, tol=1e-5):
    out, grads = ours
    ref_out, ref_grads = stock
    assert (out - ref_out).abs().max().item() <= tol
    assert grads.keys() == ref_grads.keys()
    for key, grad in grads.items():
        diff = (grad - ref_grads[key]).abs().max().item()
        assert diff <= tol * max(1.0, ref_grads[key].abs().max().item()), (
            key, diff)


@pytest.mark.parametrize('with_cp', [False, True])
def test_pretrain_backbone_equals_stock(with_cp):
    """Masked and unmasked forward and backward of the pre-training
    backbone, from the same weights (same state-dict keys)."""
    cfg = tiny_conmim_cfg('vit-s_300e.py', img_size=64).model.backbone
    assert cfg.type == 'FastBEiTPretrainViT' and cfg.attention == 'sdpa'
    stock = build(dict(without(cfg, 'attention', 'with_cp'), type='BEiTPretrainViT'))
    fast = build(dict(cfg, with_cp=with_cp))
    assert type(fast.layers[0].attn).__name__ == 'SDPABEiTAttention'
    assert stock.state_dict().keys() == fast.state_dict().keys()
    fast.load_state_dict(stock.state_dict())
    # a non-trivial shared bias
    with torch.no_grad():
        for model in (stock, fast):
            table = model.rel_pos_bias.relative_position_bias_table
            table.copy_(torch.linspace(-2, 2, table.numel()).view_as(table))
    torch.manual_seed(1)
    images = torch.randn(2, 3, 64, 64)
    mask = torch.rand(2, 4, 4) < 0.75
    assert_close(forward_backward(fast, images, mask),
                 forward_backward(stock, images, mask))
    assert_close(forward_backward(fast, images), forward_backward(
        stock, images))


@pytest.mark.parametrize('case', ['no_grad', 'frozen_bias', 'trained_bias'])
def test_cpu_attention_kernel_follows_the_bias_gradient(case, monkeypatch):
    """On CPU, ``scaled_dot_product_attention`` runs where the bias needs no
    gradient (the teacher under ``no_grad``, a frozen table) and the
    explicit matmul-softmax-matmul where it does; both equal the stock
    attention, forward and backward."""
    import torch.nn.functional as F
    cfg = tiny_conmim_cfg('vit-s_300e.py', img_size=64).model.backbone
    stock = build(dict(without(cfg, 'attention', 'with_cp'),
                       type='BEiTPretrainViT'))
    fast = build(cfg)
    fast.load_state_dict(stock.state_dict())
    for model in (stock, fast):
        table = model.rel_pos_bias.relative_position_bias_table
        with torch.no_grad():
            table.copy_(torch.linspace(-2, 2, table.numel()).view_as(table))
        table.requires_grad_(case != 'frozen_bias')
    calls = []
    sdpa = F.scaled_dot_product_attention
    monkeypatch.setattr(F, 'scaled_dot_product_attention',
                        lambda *a, **k: calls.append(1) or sdpa(*a, **k))
    images = torch.randn(2, 3, 64, 64)
    mask = torch.rand(2, 4, 4) < 0.75
    if case == 'no_grad':
        with torch.no_grad():
            out, ref = fast(images, mask)[0], stock(images, mask)[0]
        assert (out - ref).abs().max().item() <= 1e-5
    else:
        assert_close(forward_backward(fast, images, mask),
                     forward_backward(stock, images, mask))
    assert len(calls) == (0 if case == 'trained_bias' else 2)


def test_finetune_backbone_equals_stock():
    """The ImageNet fine-tuning backbone (per-block relative position
    tables) in train mode (drop path off for a deterministic comparison)."""
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs', 'downstream', 'imagenet', 'vit-s_ft-100e.py'))
    backbone = cfg.model.backbone
    assert backbone.type == 'FastBEiTViT' and backbone.attention == 'sdpa'
    backbone.update(arch=TINY_ARCH, img_size=64, drop_path_rate=0.,
                    init_cfg=None)
    stock = build(dict(without(backbone, 'attention', 'with_cp'), type='BEiTViT'))
    fast = build(backbone)
    with torch.no_grad():  # non-trivial per-block tables
        for layer in stock.layers:
            table = layer.attn.relative_position_bias_table
            table.copy_(torch.randn_like(table))
    fast.load_state_dict(stock.state_dict())
    images = torch.randn(2, 3, 64, 64)
    assert_close(forward_backward(fast, images),
                 forward_backward(stock, images))


def one_iteration(cfg, seed: int = 0, state: Optional[dict] = None) -> tuple:
    """Loss and student gradients of one ConMIM iteration of ``cfg``, from
    its initial weights or from ``state``."""
    torch.manual_seed(seed)
    model = build_conmim(cfg)
    if state is not None:
        model.load_state_dict(state)
    model.train()
    query, key, mask = synthetic_views(2, 64, 16, torch.device('cpu'))
    from mmpretrain.structures import DataSample
    samples = []
    for image_mask in mask:
        sample = DataSample()
        sample.set_mask(image_mask)
        samples.append(sample)
    loss = model.loss([query, key], samples)['loss']
    loss.backward()
    grads = {k: p.grad.clone() for k, p in model.named_parameters()
             if p.grad is not None}
    return loss.item(), grads


@pytest.mark.parametrize('with_cp', [False, True])
def test_conmim_loss_equals_stock(with_cp):
    """Whole ConMIM loss and gradients: fast backbone (+ checkpointing) vs
    mmpretrain's BEiTPretrainViT, from the same weights."""
    cfg = tiny_conmim_cfg('vit-b_300e.py', img_size=64)
    fast = Config(cfg.to_dict())
    fast.model.backbone.with_cp = with_cp
    stock = Config(cfg.to_dict())
    stock.model.backbone = dict(
        without(cfg.model.backbone, 'attention', 'with_cp'), type='BEiTPretrainViT')
    torch.manual_seed(0)
    initial = build_conmim(stock).state_dict()
    stock_loss, stock_grads = one_iteration(stock, state=initial)
    fast_loss, fast_grads = one_iteration(fast, state=initial)
    assert abs(fast_loss - stock_loss) <= 1e-5
    assert_close((torch.zeros(1), fast_grads), (torch.zeros(1), stock_grads))


def test_compiled_blocks_equal_eager():
    """``compile_blocks=True`` in the backbone config (torch.compile of every
    block): the loss and gradients of an iteration, and the losses of two
    full training iterations (optimizer step and momentum update between
    them), equal the eager ones."""
    cfg = tiny_conmim_cfg('vit-s_300e.py', img_size=64)
    cfg.optim_wrapper.type = 'OptimWrapper'
    cfg.optim_wrapper.pop('loss_scale')
    compiled = Config(cfg.to_dict())
    compiled.model.backbone.compile_blocks = True
    eager_loss, eager_grads = one_iteration(cfg)
    compiled_loss, compiled_grads = one_iteration(compiled)
    assert abs(compiled_loss - eager_loss) <= 1e-5
    assert_close((torch.zeros(1), compiled_grads),
                 (torch.zeros(1), eager_grads))

    views = synthetic_views(2, 64, 16, torch.device('cpu'))
    losses = []
    for config in (cfg, compiled):
        torch.manual_seed(0)
        step = ConMIMStep(config, torch.device('cpu'))
        losses.append([step(*views).item() for _ in range(2)])
    assert losses[1] == pytest.approx(losses[0], abs=1e-5)


def test_cls_attention_of_fused_backbone():
    """The attention maps of the analysis tools are read from a fused
    backbone as from the stock one, and the block stays fused."""
    from conmim_mm.analysis import cls_attention
    cfg = tiny_conmim_cfg('vit-s_300e.py', img_size=64).model.backbone
    fast = build(cfg)
    stock = build(dict(without(cfg, 'attention', 'with_cp'),
                       type='BEiTPretrainViT'))
    fast.load_state_dict(stock.state_dict())
    fast.eval()  # mmpretrain's train() returns None
    stock.eval()
    images = torch.randn(2, 3, 64, 64)
    maps = cls_attention(fast, images)
    assert maps.shape == (2, 2, 4, 4)
    assert torch.allclose(maps, cls_attention(stock, images), atol=1e-6)
    assert type(fast.layers[-1].attn).__name__ == 'SDPABEiTAttention'


def test_pretraining_starts_from_the_official_initialisation():
    """ViT-S of the published config, drawn as the official pre-training
    code draws it: every linear layer of the blocks and the projector, the
    patch embedding and the cls/mask tokens normal with std 0.02 truncated
    to [-0.02, 0.02] (std 0.0108), zero biases, the attention output and
    second MLP weights of block ``l`` divided by sqrt(2 l). (mmpretrain's
    block alone would re-draw its MLP Xavier-uniform, std 0.032 for the
    first layer, and truncate at +-2 elsewhere, std 0.02.)"""
    truncated_std = 0.02 * 0.53956  # N(0, 1) truncated to [-1, 1]
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'conmim',
                                   'vit-s_300e.py'))
    torch.manual_seed(0)
    model = build_conmim(cfg)

    def check(name, weight, divisor=1.0, rel=0.03):
        weight = weight.detach() * divisor
        assert weight.std().item() == pytest.approx(truncated_std,
                                                    rel=rel), name
        assert weight.abs().max().item() <= 0.02 + 1e-7, name

    backbone, neck = model.backbone, model.neck
    check('patch_embed', backbone.patch_embed.projection.weight)
    assert not backbone.patch_embed.projection.bias.any()
    check('cls_token', backbone.cls_token, rel=0.15)  # 384 values
    check('mask_token', backbone.mask_token, rel=0.15)
    for depth, layer in enumerate(backbone.layers, start=1):
        linears = dict(qkv=(layer.attn.qkv, 1.0),
                       proj=(layer.attn.proj, math.sqrt(2.0 * depth)),
                       fc1=(layer.ffn.layers[0][0], 1.0),
                       fc2=(layer.ffn.layers[1], math.sqrt(2.0 * depth)))
        for name, (linear, divisor) in linears.items():
            check(f'{name} of block {depth}', linear.weight, divisor)
            if linear.bias is not None:
                assert not linear.bias.any(), (depth, name)
    for name in ('fc0', 'fc1', 'fc2'):
        check(f'projector {name}', getattr(neck, name).weight)
    # the teacher starts as the same weights
    for (name, student), teacher in zip(
            model.backbone.state_dict().items(),
            model.teacher.backbone.state_dict().values()):
        assert torch.equal(student, teacher), name


@pytest.mark.parametrize('bias_shape', [(1, 3, 17, 17), (3, 17, 17),
                                        (2, 3, 17, 17)])
@pytest.mark.parametrize('qv_bias', [False, True])
def test_biased_attention_matches_autograd_in_float64(bias_shape, qv_bias):
    """The CPU attention with a trainable bias (hand-written backward)
    against PyTorch's autograd of ``softmax(scale q k^T + bias) v`` from the
    packed qkv (plus the query and value biases BEiT adds to it), and
    ``torch.autograd.gradcheck`` of its own gradients."""
    from conmim_mm.models.biased_attention import biased_attention
    torch.manual_seed(0)
    batch, length, heads, dims = 2, 17, 3, 8
    scale = dims**-0.5
    qkv = torch.randn(batch, length, 3 * heads * dims, dtype=torch.float64,
                      requires_grad=True)
    bias = torch.randn(bias_shape, dtype=torch.float64, requires_grad=True)
    inputs = [qkv, bias]
    if qv_bias:
        inputs += [torch.randn(heads * dims, dtype=torch.float64,
                               requires_grad=True) for _ in range(2)]

    def reference(qkv, bias, q_bias=None, v_bias=None):
        if q_bias is not None:
            qkv = qkv + torch.cat((q_bias, torch.zeros_like(q_bias), v_bias))
        query, key, value = qkv.view(batch, length, 3, heads,
                                     dims).permute(2, 0, 3, 1, 4).unbind(0)
        probs = ((query * scale) @ key.transpose(-1, -2) + bias).softmax(-1)
        return (probs @ value).transpose(1, 2).reshape(batch, length, -1)

    def ours(qkv, bias, *qv):
        return biased_attention(qkv, bias, heads, scale, *qv)

    weights = torch.randn(batch, length, heads * dims, dtype=torch.float64)
    grads = torch.autograd.grad((ours(*inputs) * weights).sum(), inputs)
    ref_grads = torch.autograd.grad((reference(*inputs) * weights).sum(),
                                    inputs)
    assert len(grads) == (4 if qv_bias else 2)
    for grad, ref in zip(grads, ref_grads):
        assert grad.shape == ref.shape
        assert (grad - ref).abs().max().item() < 1e-12
    assert torch.autograd.gradcheck(ours, tuple(inputs))


def test_scaled_residual_matches_autograd_in_float64():
    """``x + gamma * y`` as one op: value and the three gradients equal
    autograd's of the multiply-then-add, and gradcheck passes."""
    from conmim_mm.models.scaled_residual import scaled_residual
    torch.manual_seed(0)
    x, y = (torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
            for _ in range(2))
    gamma = torch.randn(4, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(2, 5, 4, dtype=torch.float64)
    out = scaled_residual(x, gamma, y)
    ref = x + gamma * y
    assert (out - ref).abs().max().item() < 1e-12  # a fused multiply-add
    grads = torch.autograd.grad((out * weights).sum(), (x, gamma, y))
    ref_grads = torch.autograd.grad((ref * weights).sum(), (x, gamma, y))
    for grad, expected in zip(grads, ref_grads):
        assert (grad - expected).abs().max().item() < 1e-12
    assert torch.autograd.gradcheck(scaled_residual, (x, gamma, y))


def test_visible_patch_embedding_equals_convolution_then_mask_tokens():
    """On CPU the masked forward projects the visible patches only: the
    tokens and the gradients of the projection and the mask token equal
    those of mmpretrain's convolution followed by the mask-token mix."""
    from conmim_mm.models.masked_patch_embed import embed_visible_patches
    cfg = tiny_conmim_cfg('vit-s_300e.py', img_size=64).model.backbone
    backbone = build(cfg)
    patch_embed, mask_token = backbone.patch_embed, backbone.mask_token
    images = torch.randn(2, 3, 64, 64)
    mask = torch.rand(2, 4, 4) < 0.75
    grad = torch.randn(2, 16, 32)
    params = (patch_embed.projection.weight, patch_embed.projection.bias,
              mask_token)

    tokens, grid = embed_visible_patches(patch_embed, mask_token, images,
                                         mask)
    assert grid == (4, 4) and tokens.shape == (2, 16, 32)
    grads = torch.autograd.grad(tokens, params, grad)
    stock = patch_embed(images)[0]
    weights = mask.flatten(1).unsqueeze(-1).float()
    stock = stock * (1 - weights) + mask_token * weights
    stock_grads = torch.autograd.grad(stock, params, grad)
    assert (tokens - stock).abs().max().item() < 1e-5
    assert torch.equal(tokens[mask.flatten(1)],
                       mask_token.expand(2, 16, 32)[mask.flatten(1)])
    for mine, theirs in zip(grads, stock_grads):
        assert (mine - theirs).abs().max().item() < 1e-4

    # the backbone's masked forward takes it (no convolution), and its
    # unmasked forward (the teacher's) the convolution
    calls = []
    patch_embed.register_forward_hook(lambda *args: calls.append(1))
    backbone(images, mask)
    assert calls == []
    backbone(images, None)
    assert calls == [1]

    # sizes that are not whole patches, or a norm layer: the convolution
    assert embed_visible_patches(patch_embed, mask_token,
                                 torch.randn(2, 3, 60, 64), mask) is None
    patch_embed.norm = torch.nn.LayerNorm(32)
    assert embed_visible_patches(patch_embed, mask_token, images,
                                 mask) is None
