"""The checks of a fine-tuning from a pre-trained ViT
(conmim_mm.analysis.finetune_checks and FinetuneChecksHook): the share of
backbone tensors loaded (a wrong prefix stops the run, naming what is
missing), the relative position tables resized to the task's grid, the lr
scale of each layer group, no SyncBN in one process."""
import logging
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper

from conmim_mm.analysis.finetune_checks import (check_loaded, layer_id,
                                                load_report, loaded_by_init,
                                                lr_scale_line, position_lines,
                                                sync_bn_line)
from conmim_mm.analysis.transfer.dense_configs import layer_decay_keys
from conmim_mm.engine.hooks import FinetuneChecksHook
from conmim_mm.errors import CheckpointFormatError, ConfigError

#: the backbone's prefix in a ConMIM checkpoint
TEACHER = 'teacher.backbone.'


def _backbone(prefix: str = TEACHER, checkpoint: str = '',
              img_size: int = 128) -> nn.Module:
    """ConMIMBEiTViT of the tiny checkpoint's size at ``img_size`` (an 8x8
    grid at 128 px; the checkpoint's is 4x4), as the dense configs build
    it."""
    from mmpretrain.registry import MODELS
    return MODELS.build(dict(
        type='ConMIMBEiTViT',
        arch=dict(embed_dims=32, num_layers=4, num_heads=2,
                  feedforward_channels=128),
        img_size=img_size, patch_size=16, out_type='featmap',
        out_indices=[0, 1, 2, 3], use_abs_pos_emb=False,
        use_rel_pos_bias=True, use_shared_rel_pos_bias=False,
        layer_scale_init_value=0.1, final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint,
                      prefix=prefix)))


@pytest.fixture(autouse=True)
def quiet_init():
    """No per-parameter initialisation table in the test log."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def test_the_teacher_loads_whole_and_resized(pretrained_conmim):
    _, checkpoint = pretrained_conmim
    backbone = _backbone(checkpoint=checkpoint)
    report = load_report(backbone, checkpoint, TEACHER)
    # 3 embedding tensors + 4 blocks of 16 (a table each)
    assert (len(report.loaded), report.missing) == (3 + 4 * 16, [])
    assert check_loaded(report, 0.95) == (
        'backbone: 67 of 67 parameter tensors (100 %) loaded from '
        "conmim.pth under 'teacher.backbone.'")
    backbone.init_weights()
    loaded_by_init(backbone, report)  # no error
    from conmim_mm.analysis.finetune_checks import checkpoint_backbone
    assert position_lines(
        backbone, checkpoint_backbone(checkpoint, TEACHER)) == [
            'relative position tables: 4 resized from the 4x4 grid (52 rows)'
            ' to the 8x8 grid (228 rows)'
        ]


@pytest.mark.parametrize('prefix', ['student.backbone.', 'teacher.bakbone.'])
def test_a_wrong_prefix_stops_naming_what_is_missing(prefix,
                                                     pretrained_conmim):
    _, checkpoint = pretrained_conmim
    report = load_report(_backbone(prefix), checkpoint, prefix)
    assert (report.loaded, len(report.missing)) == ([], 67)
    with pytest.raises(CheckpointFormatError) as error:
        check_loaded(report, 0.95)
    message = str(error.value)
    assert '\n' not in message
    assert message.startswith(
        'backbone: 0 of 67 parameter tensors (0 %) loaded from conmim.pth '
        f"under '{prefix}'; missing: cls_token, patch_embed.projection."
        'weight, patch_embed.projection.bias, layers.0.gamma_1, ')
    assert message.endswith(
        'layers.0.attn.q_bias and 59 more (at least 95 % expected; the '
        "checkpoint's prefixes: backbone., neck., teacher., "
        'teacher.backbone.)')


def test_a_few_missing_tensors_are_named(pretrained_conmim, tmp_path):
    model, _ = pretrained_conmim
    state = {k: v for k, v in model.state_dict().items()
             if not k.startswith(f'{TEACHER}layers.3.ffn')}
    partial = tmp_path / 'partial.pth'
    torch.save({'state_dict': state}, str(partial))
    report = load_report(_backbone(), str(partial), TEACHER)
    assert report.missing == [
        'layers.3.ffn.layers.0.0.weight', 'layers.3.ffn.layers.0.0.bias',
        'layers.3.ffn.layers.1.weight', 'layers.3.ffn.layers.1.bias'
    ]
    assert report.fraction == pytest.approx(63 / 67)
    with pytest.raises(CheckpointFormatError,
                       match=r'63 of 67 parameter tensors \(94 %\).*missing: '
                       r'layers.3.ffn.layers.0.0.weight, '):
        check_loaded(report, 0.95)
    assert check_loaded(report, 0.9).startswith('backbone: 63 of 67')


def test_weights_the_initialisation_did_not_load_are_named(
        pretrained_conmim):
    _, checkpoint = pretrained_conmim
    backbone = _backbone(checkpoint=checkpoint)
    report = load_report(backbone, checkpoint, TEACHER)
    backbone.init_weights()
    with torch.no_grad():
        backbone.layers[1].attn.qkv.weight.add_(1.)
    with pytest.raises(CheckpointFormatError,
                       match='1 parameter tensors the checkpoint conmim.pth '
                       'provides were not loaded by the initialisation: '
                       'layers.1.attn.qkv.weight$'):
        loaded_by_init(backbone, report)


def test_a_table_not_resized_from_the_checkpoint_stops(pretrained_conmim):
    _, checkpoint = pretrained_conmim
    backbone = _backbone(checkpoint=checkpoint)
    backbone.init_weights()
    from conmim_mm.analysis.finetune_checks import checkpoint_backbone
    state = checkpoint_backbone(checkpoint, TEACHER)
    with torch.no_grad():
        backbone.layers[2].attn.relative_position_bias_table.zero_()
    with pytest.raises(
            CheckpointFormatError,
            match='relative position table layers.2.attn.relative_position_'
            "bias_table is not the checkpoint's 4x4 table resized to the "
            '8x8 patch grid'):
        position_lines(backbone, state)


class _Tiny(nn.Module):
    """``backbone`` (embeddings, 2 blocks) and a head, mmpretrain names."""

    def __init__(self, sync: bool = False) -> None:
        super().__init__()
        self.backbone = nn.Module()
        self.backbone.cls_token = nn.Parameter(torch.zeros(1, 1, 4))
        self.backbone.patch_embed = nn.Conv2d(3, 4, 2)
        self.backbone.layers = nn.ModuleList(
            [nn.Linear(4, 4) for _ in range(2)])
        self.backbone.num_layers = 2
        norm = nn.SyncBatchNorm if sync else nn.BatchNorm2d
        self.neck = nn.Sequential(nn.Conv2d(4, 4, 1), norm(4))
        self.head = nn.Linear(4, 2)


def _optimizer(model: nn.Module, custom_keys: dict) -> torch.optim.Optimizer:
    return build_optim_wrapper(model, dict(
        optimizer=dict(type='AdamW', lr=1e-3),
        paramwise_cfg=dict(custom_keys=custom_keys))).optimizer


def test_layer_ids_follow_beit():
    assert [layer_id(name, 12) for name in (
        'backbone.cls_token', 'backbone.pos_embed',
        'backbone.patch_embed.projection.weight',
        'backbone.layers.0.attn.qkv.weight', 'backbone.layers.11.ln1.bias',
        'neck.lateral_convs.0.conv.weight', 'decode_head.conv_seg.bias'
    )] == [0, 0, 0, 1, 12, 13, 13]


def test_lr_scales_are_printed_and_checked():
    model = _Tiny()
    optimizer = _optimizer(model, layer_decay_keys(2, 0.5))
    assert lr_scale_line(optimizer, model, 2, 0.5) == (
        'lr scales (layer decay 0.5): embeddings 0.125, layers.0 0.25, '
        'layers.1 0.5, the rest 1')
    # a layer decay that put every layer at scale 1
    with pytest.raises(ConfigError,
                       match=r"^layer decay: backbone.cls_token has lr scale "
                       r"1, BEiT's rule with decay 0.5 gives 0.125 "
                       r'\(embeddings\)$'):
        lr_scale_line(_optimizer(model, {}), model, 2, 0.5)


def test_sync_bn_in_one_process_stops():
    assert sync_bn_line(_Tiny(), 1) == 'batch norms: 1, no SyncBN (1 process)'
    with pytest.raises(ConfigError,
                       match=r'^SyncBN in a single process: neck.1 '):
        sync_bn_line(_Tiny(sync=True), 1)
    assert sync_bn_line(_Tiny(sync=True), 2) == (
        'batch norms: 1, 1 synchronised over 2 processes')
    # conmim_mm's portable SyncBN is a plain batch norm in one process
    from conmim_mm.models.utils.sync_batch_norm import PortableSyncBatchNorm
    portable = _Tiny()
    portable.neck[1] = PortableSyncBatchNorm(4)
    assert sync_bn_line(portable, 1) == (
        'batch norms: 1, no SyncBN (1 process)')


def _runner(model: nn.Module, optimizer) -> SimpleNamespace:
    from mmengine.optim import OptimWrapper
    return SimpleNamespace(model=model, optim_wrapper=OptimWrapper(optimizer),
                           logger=MMLogger.get_current_instance())


def test_the_hook_checks_once_per_training(pretrained_conmim):
    _, checkpoint = pretrained_conmim
    model = nn.Module()
    model.backbone = _backbone(checkpoint=checkpoint)
    model.neck = nn.Conv2d(32, 8, 1)
    runner = _runner(model, _optimizer(model, layer_decay_keys(4, 0.65)))
    hook = FinetuneChecksHook(layer_decay_rate=0.65)
    hook.before_run(runner)
    model.backbone.init_weights()
    hook.before_train(runner)
    assert hook.lines == [
        'batch norms: 0, no SyncBN (1 process)',
        'lr scales (layer decay 0.65): embeddings 0.116, layers.0 0.1785, '
        'layers.1 0.2746, layers.2 0.4225, layers.3 0.65, the rest 1',
        'backbone: 67 of 67 parameter tensors (100 %) loaded from '
        "conmim.pth under 'teacher.backbone.'",
        'relative position tables: 4 resized from the 4x4 grid (52 rows) to '
        'the 8x8 grid (228 rows)'
    ]
    hook.before_run(runner)  # Runner.val() after training: nothing again
    assert len(hook.lines) == 4
    # Runner.test() alone: no optimizer built, nothing checked
    alone = FinetuneChecksHook(layer_decay_rate=0.65)
    alone.before_run(SimpleNamespace(model=model, optim_wrapper=dict()))
    assert alone.lines == []


def test_the_hook_stops_at_a_wrong_prefix(pretrained_conmim):
    _, checkpoint = pretrained_conmim
    model = nn.Module()
    model.backbone = _backbone('student.backbone.', checkpoint)
    runner = _runner(model, _optimizer(model, layer_decay_keys(4, 0.65)))
    with pytest.raises(CheckpointFormatError,
                       match=r'^backbone: 0 of 67 parameter tensors \(0 %\)'):
        FinetuneChecksHook(layer_decay_rate=0.65).before_run(runner)


def test_the_hook_says_random_init():
    model = nn.Module()
    model.backbone = _backbone()
    model.backbone.init_cfg = None
    runner = _runner(model, _optimizer(model, layer_decay_keys(4, 0.65)))
    hook = FinetuneChecksHook(layer_decay_rate=0.65)
    hook.before_run(runner)
    hook.before_train(runner)
    assert hook.lines[-1] == ('backbone: random initialisation (no '
                              'Pretrained init_cfg)')


@pytest.mark.parametrize('rate, loaded', [(0., 0.95), (0.65, 1.5)])
def test_hook_arguments_are_checked(rate, loaded):
    with pytest.raises(ConfigError, match='FinetuneChecksHook'):
        FinetuneChecksHook(rate, loaded)
