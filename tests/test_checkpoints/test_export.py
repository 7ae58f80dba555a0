"""tools/model_converters/extract_backbone.py: three layouts, same features.
(The tool runs once as a program, for the timm layout, in the background:
common.background_run; its other cases run in this process:
common.run_script.)"""
import os.path as osp
from pathlib import Path

import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import common
from common import ROOT, background_run, run_script
from conmim_mm.checkpoints import load_checkpoint_file
from conmim_mm.checkpoints.export import (export_backbone,
                                          relative_position_index,
                                          resize_rel_pos_table)

#: the backbone of conftest.py's pretrained_conmim
TINY_ARCH = dict(
    embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=128)


@pytest.fixture(scope='module')
def pretrained(pretrained_conmim):
    """A tiny ConMIM checkpoint (64x64, 4x4 patches) with distinct teacher
    and a non-zero relative position table (conftest.py's)."""
    model, path = pretrained_conmim
    return model, Path(path)


def _beit_vit(**kwargs):
    init_default_scope('mmpretrain')
    backbone = MODELS.build(
        dict(type='BEiTViT', arch=TINY_ARCH, img_size=64, patch_size=16,
             final_norm=False, **kwargs))
    backbone.eval()
    return backbone


def _teacher_tokens(model, images):
    """The teacher's last block output before its final norm."""
    captured = []
    handle = model.teacher.backbone.layers[-1].register_forward_hook(
        lambda module, inputs, output: captured.append(output))
    model.teacher.backbone.eval()
    with torch.no_grad():
        model.teacher.backbone(images, None)
    handle.remove()
    return captured[0]


def test_relative_position_index_equals_official():
    reference = torch.load(
        osp.join(ROOT, 'tests', 'data', 'parity', 'official_reference.pth'),
        weights_only=True)
    assert torch.equal(relative_position_index((14, 14)),
                       reference['relative_position_index'].long())


def test_resize_keeps_the_zero_offset_and_cls_rows():
    table = torch.randn(7 * 7 + 3, 4)  # 4x4 grid
    resized = resize_rel_pos_table(table, (8, 8))
    assert resized.shape == (15 * 15 + 3, 4)
    assert torch.equal(resized[-3:], table[-3:])
    assert torch.allclose(resized[7 * 15 + 7], table[3 * 7 + 3], atol=1e-6)
    assert resize_rel_pos_table(table, (4, 4)) is table


def test_mmpretrain_layout_gives_the_teachers_features(pretrained):
    model, path = pretrained
    exported = export_backbone(torch.load(str(path), weights_only=True)
                               ['state_dict'])
    backbone = _beit_vit(out_type='raw')
    backbone.load_state_dict(
        {k[len('backbone.'):]: v for k, v in exported.items()}, strict=True)
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ours = backbone(images)[0]
    assert torch.allclose(ours, _teacher_tokens(model, images), atol=1e-5)
    student = export_backbone(
        torch.load(str(path), weights_only=True)['state_dict'], student=True)
    assert torch.equal(student['backbone.cls_token'], model.backbone.cls_token)
    assert not torch.equal(exported['backbone.cls_token'],
                           student['backbone.cls_token'])


@background_run()
def timm_export_run(work_dir):
    return ['tools/model_converters/extract_backbone.py',
            common.pretrained_conmim()[1], str(work_dir / 'timm.pth'),
            '--layout', 'timm'], {}


def test_timm_layout_loads_strictly_with_equal_features(pretrained,
                                                        timm_export_run):
    import timm
    model, path = pretrained
    out = timm_export_run.work_dir / 'timm.pth'
    beit = timm.create_model('beit_base_patch16_224', num_classes=0,
                             img_size=64, embed_dim=32, depth=4, num_heads=2)
    beit.load_state_dict(load_checkpoint_file(str(out)), strict=True)
    beit.eval()
    ours = _beit_vit(out_type='avg_featmap')
    ours.load_state_dict({
        k[len('backbone.'):]: v
        for k, v in export_backbone(
            torch.load(str(path), weights_only=True)['state_dict']).items()
    }, strict=False)
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        difference = (beit(images) - ours(images)[0]).abs().max().item()
    assert difference <= 1e-4


@pytest.mark.full_stack
def test_mmseg_layout_loads_into_mmseg_beit(pretrained, tmp_path):
    from mmseg.models.backbones import BEiT
    model, path = pretrained
    out = tmp_path / 'mmseg.pth'
    result = run_script(['tools/model_converters/extract_backbone.py',
                         str(path), str(out), '--layout', 'mmseg'])
    assert result.returncode == 0, result.stderr[-2000:]
    beit = BEiT(img_size=64, patch_size=16, embed_dims=32, num_layers=4,
                num_heads=2, mlp_ratio=4, out_indices=[3])
    beit.load_state_dict(load_checkpoint_file(str(out))['state_dict'],
                         strict=True)
    beit.eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        feature = beit(images)[0]  # (B, C, 4, 4)
    teacher = _teacher_tokens(model, images)[:, 1:]
    expected = teacher.transpose(1, 2).reshape(2, 32, 4, 4)
    # fp32 rounding of two attention kernels (mmseg's explicit one, our
    # flash one) through four blocks: about 1e-5 on features up to 1.2
    assert torch.allclose(feature, expected, atol=3e-5)


def test_resized_export_for_a_larger_input(pretrained, tmp_path):
    _, path = pretrained
    out = tmp_path / 'big.pth'
    result = run_script(['tools/model_converters/extract_backbone.py',
                         str(path), str(out), '--img-size', '128'])
    assert result.returncode == 0, result.stderr[-2000:]
    state = load_checkpoint_file(str(out))['state_dict']
    table = state['backbone.layers.0.attn.relative_position_bias_table']
    assert table.shape == (15 * 15 + 3, 2)
    backbone = MODELS.build(
        dict(type='BEiTViT', arch=TINY_ARCH, img_size=128, patch_size=16,
             final_norm=False, out_type='raw'))
    backbone.load_state_dict(
        {k[len('backbone.'):]: v for k, v in state.items()}, strict=True)
    assert backbone(torch.randn(1, 3, 128, 128))[0].shape == (1, 65, 32)


def test_not_a_conmim_checkpoint_names_expected_keys(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': {'backbone.conv.weight': torch.zeros(1)}},
               str(path))
    result = run_script(['tools/model_converters/extract_backbone.py',
                         str(path), str(tmp_path / 'out.pth')])
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: not a ConMIM pre-training checkpoint')
    assert 'teacher.backbone.cls_token' in last


def test_conmim_vit_resizes_tables_with_torch_without_scipy(
        pretrained, monkeypatch):
    """Loading a 4x4-grid teacher into a ConMIMBEiTViT for 128x128 inputs
    copies the shared table into every block and resizes it with the torch
    resize (SciPy's interp2d is gone from SciPy >= 1.14); mmpretrain's
    BEiTViT is left as it is."""
    import sys
    from mmpretrain.models.backbones import beit
    from mmpretrain.models.utils import resize_relative_position_bias_table
    model, _ = pretrained
    big = MODELS.build(
        dict(type='ConMIMBEiTViT', arch=TINY_ARCH, img_size=128, patch_size=16,
             final_norm=False, out_type='raw'))
    state = {k[len('teacher.backbone.'):]: v
             for k, v in model.state_dict().items()
             if k.startswith('teacher.backbone.')}
    monkeypatch.setitem(sys.modules, 'scipy', None)  # any import would fail
    missing, unexpected = big.load_state_dict(dict(state), strict=False)
    assert not [k for k in missing + unexpected if 'relative_position' in k]
    shared = state['rel_pos_bias.relative_position_bias_table']
    expected = resize_rel_pos_table(shared, (8, 8))
    for layer in big.layers:
        assert torch.allclose(layer.attn.relative_position_bias_table,
                              expected, atol=1e-6)
    assert beit.resize_relative_position_bias_table is \
        resize_relative_position_bias_table
