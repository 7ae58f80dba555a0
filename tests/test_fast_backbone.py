"""Fused attention and checkpointing compute what the stock BEiT path does.

``FastBEiTPretrainViT`` / ``FastBEiTViT`` (``scaled_dot_product_attention``
with the relative position bias as additive mask, optional activation
checkpointing) against mmpretrain's ``BEiTPretrainViT`` / ``BEiTViT``, built
from the real configs with a tiny ViT, in fp32 on CPU.
"""
import os.path as osp

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
    backbone; the initial weights are identical, too."""
    cfg = tiny_conmim_cfg('vit-s_300e.py', img_size=64).model.backbone
    assert cfg.type == 'FastBEiTPretrainViT' and cfg.attention == 'sdpa'
    stock = build(dict(without(cfg, 'attention', 'with_cp'), type='BEiTPretrainViT'))
    fast = build(dict(cfg, with_cp=with_cp))
    assert type(fast.layers[0].attn).__name__ == 'SDPABEiTAttention'
    stock_state, fast_state = stock.state_dict(), fast.state_dict()
    assert stock_state.keys() == fast_state.keys()
    assert all(torch.equal(stock_state[k], fast_state[k])
               for k in stock_state)
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


def one_iteration(cfg, seed: int = 0) -> tuple:
    """Loss and student gradients of one ConMIM iteration of ``cfg``."""
    torch.manual_seed(seed)
    model = build_conmim(cfg)
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
    mmpretrain's BEiTPretrainViT, from the same seed."""
    cfg = tiny_conmim_cfg('vit-b_300e.py', img_size=64)
    fast = Config(cfg.to_dict())
    fast.model.backbone.with_cp = with_cp
    stock = Config(cfg.to_dict())
    stock.model.backbone = dict(
        without(cfg.model.backbone, 'attention', 'with_cp'), type='BEiTPretrainViT')
    fast_loss, fast_grads = one_iteration(fast)
    stock_loss, stock_grads = one_iteration(stock)
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
    fast.eval()  # mmpretrain's train() returns None
    stock.eval()
    images = torch.randn(2, 3, 64, 64)
    maps = cls_attention(fast, images)
    assert maps.shape == (2, 2, 4, 4)
    assert torch.allclose(maps, cls_attention(stock, images), atol=1e-6)
    assert type(fast.layers[-1].attn).__name__ == 'SDPABEiTAttention'
