"""ConMIMPretrainViT / ConMIMBEiTViT compute what mmpretrain's BEiT backbones
do.

Our backbones (``scaled_dot_product_attention`` with the relative position
bias as additive mask) against mmpretrain's ``BEiTPretrainViT`` /
``BEiTViT``, built from the real configs with a tiny ViT, in fp32 on CPU;
and the official initialisation of the pre-training backbone.
"""
import math
import os.path as osp
from typing import Optional

import pytest
import torch
from mmengine.config import Config

from common import ROOT, build_conmim, tiny_conmim_cfg, train_mode
from step_benchmark import synthetic_views

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


def test_attention_is_built_not_swapped():
    """SDPA blocks are instances built by the backbone, with the state-dict
    keys of the stock blocks; 'stock' keeps mmpretrain's attention; any
    other value is refused naming the field."""
    from mmpretrain.models.utils.attention import BEiTAttention

    from conmim_mm.errors import ConfigError
    from conmim_mm.models import SDPABEiTAttention
    cfg = tiny_conmim_cfg('vit-s_300e.py', img_size=64).model.backbone
    fast = build(cfg)
    stock = build(dict(cfg, attention='stock'))
    assert all(type(layer.attn) is SDPABEiTAttention for layer in fast.layers)
    assert all(type(layer.attn) is BEiTAttention for layer in stock.layers)
    # same seed, same initial weights (build() seeds 0)
    assert fast.state_dict().keys() == stock.state_dict().keys()
    for key, value in stock.state_dict().items():
        assert torch.equal(fast.state_dict()[key], value), key
    with pytest.raises(ConfigError, match='backbone.attention must be one'):
        build(dict(cfg, attention='flash'))


def test_pretrain_backbone_equals_stock():
    """Masked and unmasked forward and backward of the pre-training
    backbone, from the same weights (same state-dict keys)."""
    cfg = tiny_conmim_cfg('vit-s_300e.py', img_size=64).model.backbone
    assert cfg.type == 'ConMIMPretrainViT' and cfg.attention == 'sdpa'
    stock = build(dict(without(cfg, 'attention'), type='BEiTPretrainViT'))
    fast = build(cfg)
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


def test_finetune_backbone_equals_stock():
    """The ImageNet fine-tuning backbone (per-block relative position
    tables) in train mode (drop path off for a deterministic comparison)."""
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs', 'downstream', 'imagenet', 'vit-s_ft-100e.py'))
    backbone = cfg.model.backbone
    assert backbone.type == 'ConMIMBEiTViT' and backbone.attention == 'sdpa'
    backbone.update(arch=TINY_ARCH, img_size=64, drop_path_rate=0.,
                    init_cfg=None)
    stock = build(dict(without(backbone, 'attention'), type='BEiTViT'))
    fast = build(backbone)
    with torch.no_grad():  # non-trivial per-block tables
        for layer in stock.layers:
            table = layer.attn.relative_position_bias_table
            table.copy_(torch.randn_like(table))
    fast.load_state_dict(stock.state_dict())
    images = torch.randn(2, 3, 64, 64)
    assert_close(forward_backward(fast, images),
                 forward_backward(stock, images))


def test_frozen_stages_freeze_what_stock_freezes():
    """``frozen_stages`` (the linear probe freezes every block): the same
    parameters are frozen as in mmpretrain's BEiTViT, attention included,
    and every module is in the same train/eval mode."""
    backbone = dict(type='ConMIMBEiTViT', arch=TINY_ARCH, img_size=64,
                    patch_size=16, use_abs_pos_emb=False,
                    use_rel_pos_bias=True, frozen_stages=1)
    stock = build(dict(backbone, type='BEiTViT'))
    fast = build(backbone)
    frozen = [name for name, p in fast.named_parameters()
              if not p.requires_grad]
    assert frozen == [name for name, p in stock.named_parameters()
                      if not p.requires_grad]
    assert 'layers.0.attn.qkv.weight' in frozen
    assert 'layers.1.attn.qkv.weight' not in frozen
    assert [m.training for m in fast.modules()] == [
        m.training for m in stock.modules()]


def one_iteration(cfg, seed: int = 0, state: Optional[dict] = None) -> tuple:
    """Loss and student gradients of one ConMIM iteration of ``cfg``, from
    its initial weights or from ``state``."""
    torch.manual_seed(seed)
    model = build_conmim(cfg)
    if state is not None:
        model.load_state_dict(state)
    train_mode(model)
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


def test_conmim_loss_equals_stock():
    """Whole ConMIM loss and gradients: our backbone vs mmpretrain's
    BEiTPretrainViT, from the same weights."""
    cfg = tiny_conmim_cfg('vit-b_300e.py', img_size=64)
    fast = Config(cfg.to_dict())
    stock = Config(cfg.to_dict())
    stock.model.backbone = dict(
        without(cfg.model.backbone, 'attention'), type='BEiTPretrainViT')
    torch.manual_seed(0)
    initial = build_conmim(stock).state_dict()
    stock_loss, stock_grads = one_iteration(stock, state=initial)
    fast_loss, fast_grads = one_iteration(fast, state=initial)
    assert abs(fast_loss - stock_loss) <= 1e-5
    assert_close((torch.zeros(1), fast_grads), (torch.zeros(1), stock_grads))


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
