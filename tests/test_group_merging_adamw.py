"""``GroupMergingAdamW``: AdamW's numbers with one update per setting."""
import copy

import torch
from mmengine.optim import build_optim_wrapper

from conftest import build_conmim, tiny_conmim_cfg
from conmim_mm.engine.optimizers.group_merging_adamw import merge_groups


def optimizer_from_config(optimizer_type: str):
    """The tiny ViT-S ConMIM and the optimizer its config builds, with
    ``optimizer.type`` replaced."""
    cfg = tiny_conmim_cfg('vit-s_300e.py', img_size=64)
    cfg.optim_wrapper.type = 'OptimWrapper'  # AMP needs a GPU
    cfg.optim_wrapper.pop('loss_scale')
    cfg.optim_wrapper.optimizer.type = optimizer_type
    model = build_conmim(cfg)
    return model, build_optim_wrapper(model, cfg.optim_wrapper).optimizer


def run_steps(model, optimizer, steps: int = 3) -> None:
    """``steps`` updates with seeded gradients, the learning rate of every
    group changed between them as a scheduler would."""
    generator = torch.Generator().manual_seed(0)
    for step in range(steps):
        for param in model.parameters():
            if param.requires_grad:
                param.grad = torch.randn(
                    param.shape, generator=generator) * 1e-2
        optimizer.step()
        for group in optimizer.param_groups:
            group['lr'] *= 0.5 + 0.1 * step


def test_built_from_the_pretraining_config():
    model, optimizer = optimizer_from_config('GroupMergingAdamW')
    assert type(optimizer).__name__ == 'GroupMergingAdamW'
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.defaults['fused'] is True
    # mmengine's paramwise_cfg: one group per parameter, two settings
    # (weight decay 0.05 or 0)
    assert len(optimizer.param_groups) == sum(
        p.requires_grad for p in model.parameters())
    assert len(merge_groups(optimizer.param_groups, optimizer.defaults)) == 2


def test_same_weights_and_state_as_adamw_bitwise(monkeypatch):
    """Three steps: every weight and moment equals ``torch.optim.AdamW``'s
    exactly, with one fused kernel call per setting instead of per group;
    ``param_groups`` and the state dict are AdamW's."""
    ours_model, ours = optimizer_from_config('GroupMergingAdamW')
    ref_model, ref = optimizer_from_config('AdamW')
    ref_model.load_state_dict(ours_model.state_dict())
    calls = []
    fused = torch._fused_adamw_
    monkeypatch.setattr(torch, '_fused_adamw_',
                        lambda *a, **k: calls.append(1) or fused(*a, **k))
    run_steps(ours_model, ours)
    assert len(calls) == 3 * 2
    calls.clear()
    run_steps(ref_model, ref)
    assert len(calls) == 3 * len(ref.param_groups)
    for (name, mine), theirs in zip(ours_model.state_dict().items(),
                                    ref_model.state_dict().values()):
        assert torch.equal(mine, theirs), name
    state, ref_state = ours.state_dict(), ref.state_dict()
    assert state['param_groups'] == ref_state['param_groups']
    assert state['state'].keys() == ref_state['state'].keys()
    for index, moments in state['state'].items():
        for key, value in moments.items():
            assert torch.equal(value, ref_state['state'][index][key]), key


def test_checkpoints_move_between_adamw_and_it():
    """AdamW's state dict loads into it and the next step matches."""
    ref_model, ref = optimizer_from_config('AdamW')
    run_steps(ref_model, ref, steps=2)
    ours_model, ours = optimizer_from_config('GroupMergingAdamW')
    ours_model.load_state_dict(ref_model.state_dict())
    ours.load_state_dict(copy.deepcopy(ref.state_dict()))
    run_steps(ref_model, ref, steps=1)
    run_steps(ours_model, ours, steps=1)
    for (name, mine), theirs in zip(ours_model.state_dict().items(),
                                    ref_model.state_dict().values()):
        assert torch.equal(mine, theirs), name


def test_merge_groups_keeps_order_and_unhashable_settings_apart():
    a, b, c, d = (torch.nn.Parameter(torch.zeros(1)) for _ in range(4))
    groups = [dict(params=[a], lr=1.0), dict(params=[b], lr=2.0),
              dict(params=[c], lr=1.0), dict(params=[d], lr=1.0, x=[1])]
    merged = merge_groups(groups, ['lr', 'x'])
    assert [[id(p) for p in g['params']] for g in merged] == [
        [id(a), id(c)], [id(b)], [id(d)]]
    assert [g['lr'] for g in merged] == [1.0, 2.0, 1.0]
    assert groups[0]['params'] == [a]  # the groups themselves are unchanged
