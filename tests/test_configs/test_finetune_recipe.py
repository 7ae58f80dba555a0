"""The ImageNet fine-tuning configs against the official fine-tuning step.

The official recipe is ``run_class_finetuning.py`` with the README's ViT-B
command (``--lr 4e-3 --layer_decay 0.65 --weight_decay 0.05 --epochs 100
--warmup_epochs 20``, default ``--min_lr 1e-6``, ``--init_scale 0.001``):
parameter groups from ``optim_factory.create_optimizer`` with a
``LayerDecayValueAssigner`` (skip list ``model.no_weight_decay()``), each
group's lr set to ``lr_schedule[it] * lr_scale`` every iteration. The ViT-S
and ViT-L configs run the same recipe (no other was published), so they are
checked against it too, at their real depth.

The official modules are a checkout at ``$CONMIM_OFFICIAL_ROOT`` or the
stand-in ``tests/helpers/official_standin`` (always run).
"""
import argparse
import os.path as osp
from functools import partial

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from conmim_mm.checkpoints import official_ft_to_mmpretrain
from finetune_official import IMAGENET, ROOTS

#: The README's command and run_class_finetuning.py's defaults.
OFFICIAL_ARGS = argparse.Namespace(
    opt='adamw', lr=4e-3, weight_decay=0.05, opt_eps=1e-8, opt_betas=None,
    momentum=0.9, layer_decay=0.65, min_lr=1e-6, epochs=100, warmup_epochs=20,
    init_scale=0.001, drop_path=0.1, layer_scale_init_value=0.1)
#: config -> width / depth / heads checked: each size at its real depth (the
#: layer ids and lr scales depend on the depth, the groups on the names),
#: with a narrow width to keep the test fast
SIZES = {
    'vit-b_ft-100e.py': (64, 12, 2),
    'vit-s_ft-100e.py': (64, 12, 2),
    'vit-l_ft-100e.py': (64, 24, 2),
}


@pytest.fixture(scope='module', params=ROOTS)
def official(request):
    from official_code import import_official_finetune
    return import_official_finetune(request.param)


def _official_model(official, width, depth, heads):
    args = OFFICIAL_ARGS
    return official.modeling.VisionTransformer(
        img_size=224, patch_size=16, embed_dim=width, depth=depth,
        num_heads=heads, mlp_ratio=4, qkv_bias=True,
        norm_layer=partial(nn.LayerNorm, eps=1e-6), num_classes=1000,
        drop_path_rate=args.drop_path, use_mean_pooling=True,
        init_scale=args.init_scale, use_rel_pos_bias=True,
        use_abs_pos_emb=False, init_values=args.layer_scale_init_value)


def _official_optimizer(official, model):
    """``run_class_finetuning.py``'s optimizer for ``model``."""
    args = OFFICIAL_ARGS
    depth = model.get_num_layers()
    assigner = official.optim_factory.LayerDecayValueAssigner(
        [args.layer_decay**(depth + 1 - i) for i in range(depth + 2)])
    return official.optim_factory.create_optimizer(
        args, model, skip_list=model.no_weight_decay(),
        get_num_layer=assigner.get_layer_id,
        get_layer_scale=assigner.get_scale)


def _ours(config, width, depth, heads):
    cfg = Config.fromfile(osp.join(IMAGENET, config))
    cfg.model.backbone.arch = dict(
        embed_dims=width, num_layers=depth, num_heads=heads,
        feedforward_channels=4 * width)
    cfg.model.head.in_channels = width
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return cfg, model, wrapper


def _groups_by_name(optimizer, names):
    """Parameter name -> (lr scale, weight decay, group)."""
    by_id = {id(p): n for n, p in names}
    out = {}
    for group in optimizer.param_groups:
        for param in group['params']:
            name = by_id[id(param)]
            assert name not in out, name
            out[name] = (group['lr_scale'], group['weight_decay'], group)
    return out


@pytest.mark.parametrize('config', list(SIZES))
def test_parameter_groups_and_one_step_equal_official(official, config):
    """Every parameter has the official lr scale and weight decay; one AdamW
    step from the same weights, gradients and lr gives the same weights."""
    torch.manual_seed(0)
    width, depth, heads = SIZES[config]
    official_model = _official_model(official, width, depth, heads)
    _, model, wrapper = _ours(config, width, depth, heads)
    state = {
        k: v.clone()
        for k, v in official_ft_to_mmpretrain(
            official_model.state_dict()).items()
    }
    model.load_state_dict(state, strict=True)
    # the converter's mapping takes the official parameter names to ours
    renamed = official_ft_to_mmpretrain(
        dict(official_model.named_parameters()))
    official_optimizer = _official_optimizer(official, official_model)
    theirs = _groups_by_name(official_optimizer, renamed.items())
    ours = _groups_by_name(wrapper.optimizer, model.named_parameters())
    assert set(ours) == set(theirs) and len(ours) == len(renamed)
    decay = OFFICIAL_ARGS.weight_decay
    for name, (scale, weight_decay, _) in ours.items():
        assert scale == pytest.approx(theirs[name][0], rel=1e-12), name
        assert weight_decay == theirs[name][1], name
        assert weight_decay in (0., decay), name
    scales = sorted({s for s, _, _ in ours.values()})
    assert len(scales) == depth + 2
    assert scales[0] == pytest.approx(0.65**(depth + 1))
    # one step; the official engine sets each group's lr to lr * lr_scale
    for group in official_optimizer.param_groups:
        group['lr'] = OFFICIAL_ARGS.lr * group['lr_scale']
    params = dict(model.named_parameters())
    for name, param in renamed.items():
        param.grad = torch.randn_like(param)
        params[name].grad = param.grad.clone()
    official_optimizer.step()
    wrapper.step()
    for name, param in renamed.items():
        assert torch.allclose(params[name], param, rtol=0, atol=1e-6), name
    moved = max((params[n] - state[n]).abs().max().item() for n in params)
    assert moved > 1e-4  # the step moved the weights


def _official_lr(official, iters_per_epoch):
    args = OFFICIAL_ARGS
    return official.utils.cosine_scheduler(
        args.lr, args.min_lr, args.epochs, iters_per_epoch,
        warmup_epochs=args.warmup_epochs)


@pytest.mark.parametrize('config', ['vit-b_ft-100e.py', 'vit-l_ft-100e.py'])
def test_schedule_equals_official(official, config):
    """Each group's lr at every iteration is the official ``lr_schedule *
    lr_scale``: the cosine phase to 1e-9 relative (min lr 1e-6 times the
    layer's scale), the warm-up to 1/warm-up-iterations of the peak (ours
    starts at 1e-4 of it and reaches it one iteration later)."""
    from mmpretrain.registry import PARAM_SCHEDULERS
    iters_per_epoch = 5
    width, depth, heads = SIZES[config]
    cfg, _, wrapper = _ours(config, width, depth, heads)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        schedulers = [
            PARAM_SCHEDULERS.build(
                c, default_args=dict(optimizer=wrapper,
                                     epoch_length=iters_per_epoch))
            for c in cfg.param_scheduler
        ]
    official_lr = _official_lr(official, iters_per_epoch)
    warmup = OFFICIAL_ARGS.warmup_epochs * iters_per_epoch
    assert len(official_lr) == cfg.train_cfg.max_epochs * iters_per_epoch
    groups = wrapper.optimizer.param_groups
    for it, expected in enumerate(official_lr):
        for group in groups:
            peak = OFFICIAL_ARGS.lr * group['lr_scale']
            want = expected * group['lr_scale']
            if it < warmup:
                assert abs(group['lr'] - want) <= peak / warmup, it
            else:
                assert group['lr'] == pytest.approx(want, rel=1e-9), it
        for scheduler in schedulers:
            scheduler.step()
    lowest = min(groups, key=lambda g: g['lr_scale'])
    assert lowest['lr'] < OFFICIAL_ARGS.min_lr  # min lr scaled per layer


def test_head_initialisation_equals_official(official):
    """The head starts as the official one: std 0.02 x ``init_scale``
    0.001, zero bias (same distribution, within sampling error)."""
    torch.manual_seed(0)
    official_head = _official_model(official, 64, 1, 2).head
    _, model, _ = _ours('vit-b_ft-100e.py', 64, 1, 2)
    model.head.init_weights()
    ours_std = model.head.fc.weight.std().item()
    official_std = official_head.weight.std().item()
    assert ours_std == pytest.approx(official_std, rel=0.03)
    assert ours_std == pytest.approx(0.02 * OFFICIAL_ARGS.init_scale,
                                     rel=0.03)
    assert torch.count_nonzero(model.head.fc.bias) == 0
    assert torch.count_nonzero(official_head.bias) == 0
