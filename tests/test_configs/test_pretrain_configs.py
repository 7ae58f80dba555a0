"""The six published pre-training configs carry the published settings; the
demo changes only its sizes."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.models.backbones.beit import BEiTViT

from common import ROOT, build_conmim, tiny_conmim_cfg

CONMIM = osp.join(ROOT, 'configs', 'conmim')

# config: (arch, epochs, lr, clip, layer scale, GPUs x batch)
PUBLISHED = {
    'vit-s_300e.py': ('deit-small', 300, 1.5e-3, 3.0, 0.1, (8, 256)),
    'vit-b_300e.py': ('base', 300, 1.5e-3, 3.0, 0.1, (8, 256)),
    'vit-b_800e.py': ('base', 800, 1.5e-3, 3.0, 0.1, (8, 256)),
    'vit-l_400e.py': ('large', 400, 7.5e-4, 1.0, 1e-5, (32, 64)),
    'vit-l_800e.py': ('large', 800, 7.5e-4, 1.0, 1e-5, (32, 64)),
    'vit-l_1600e.py': ('large', 1600, 7.5e-4, 1.0, 1e-5, (32, 64)),
}
WIDTH = {'deit-small': 384, 'base': 768, 'large': 1024}


@pytest.mark.parametrize('name', sorted(PUBLISHED))
def test_published_settings(name):
    arch, epochs, lr, clip, layer_scale, (gpus, batch) = PUBLISHED[name]
    cfg = Config.fromfile(osp.join(CONMIM, name))
    model = cfg.model
    assert model.type == 'ConMIM'
    assert model.teacher_momentum == 0.996
    assert model.head == dict(type='ConMIMHead', temperature=0.1)
    assert model.backbone.arch == arch
    assert BEiTViT.arch_zoo[arch]['embed_dims'] == WIDTH[arch]
    assert model.backbone.layer_scale_init_value == layer_scale
    assert model.backbone.drop_path_rate == 0
    assert model.backbone.use_shared_rel_pos_bias
    assert not model.backbone.use_abs_pos_emb
    assert model.neck.in_channels == WIDTH[arch]
    assert (model.neck.hid_channels, model.neck.out_channels) == (4096, 256)
    assert model.neck.num_layers == 3 and not model.neck.with_bias
    assert not model.neck.with_last_bn_affine
    assert model.neck.norm_cfg == dict(type='BN1d')

    optim = cfg.optim_wrapper
    assert (optim.type, optim.loss_scale) == ('CheckedAmpOptimWrapper',
                                              'dynamic')
    assert optim.constructor == 'StudentOptimWrapperConstructor'
    assert optim.optimizer.type == 'AdamW'
    assert optim.optimizer.fused is True
    assert optim.optimizer.lr == lr
    assert optim.optimizer.betas == (0.9, 0.98)
    assert optim.optimizer.weight_decay == 0.05
    assert optim.clip_grad.max_norm == clip
    assert gpus * cfg.train_dataloader.batch_size == 2048
    assert cfg.auto_scale_lr.base_batch_size == 2048
    assert cfg.train_cfg.max_epochs == epochs
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 10)
    assert (cosine.type, cosine.begin, cosine.eta_min) == (
        'CosineAnnealingLR', 10, 1e-5)
    assert 'end' not in cosine  # the runner ends it at max_epochs
    assert [h.type for h in cfg.custom_hooks] == [
        'TeacherUpdateHook', 'SkippedStepHook', 'SafeCheckpointHook',
        'ParamGroupSummaryHook'
    ]
    assert cfg.default_hooks.checkpoint.backend_args == dict(
        backend='atomic_local')


@pytest.mark.parametrize('name', sorted(PUBLISHED))
def test_tiny_model_and_optimizer_from_config(name):
    layer_scale = PUBLISHED[name][4]
    cfg = tiny_conmim_cfg(name)
    model = build_conmim(cfg)
    assert torch.allclose(model.backbone.layers[0].gamma_1,
                          torch.full((32, ), layer_scale))
    # the teacher starts as an exact copy of the student
    for (key, teacher), student in zip(model.teacher.state_dict().items(),
                                       model.backbone.state_dict().values()):
        if key.startswith('backbone.'):
            assert torch.equal(teacher, student), key
    assert not any(p.requires_grad for p in model.teacher.parameters())
    widths = [model.neck.fc0.out_features, model.neck.fc1.out_features,
              model.neck.fc2.out_features]
    assert widths == [128, 128, 32]
    assert not model.neck.bn2.affine

    cfg.optim_wrapper.type = 'OptimWrapper'
    cfg.optim_wrapper.pop('loss_scale')
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    decay = {}
    for group in optim_wrapper.optimizer.param_groups:
        for param in group['params']:
            decay[id(param)] = group['weight_decay']
    names = {name: decay.get(id(p)) for name, p in model.named_parameters()}
    # official: no decay for 1-D parameters, biases, cls_token, pos_embed
    expected_zero = [
        'backbone.cls_token', 'backbone.layers.0.gamma_1',
        'backbone.layers.0.attn.q_bias', 'backbone.layers.0.ln1.weight',
        'backbone.patch_embed.projection.bias', 'neck.bn0.weight'
    ]
    expected_decay = [
        'backbone.mask_token', 'backbone.layers.0.attn.qkv.weight',
        'backbone.rel_pos_bias.relative_position_bias_table',
        'backbone.patch_embed.projection.weight', 'neck.fc0.weight'
    ]
    for key in expected_zero:
        assert names[key] == 0, key
    for key in expected_decay:
        assert names[key] == 0.05, key
    assert all(names[k] is None for k in names if k.startswith('teacher.'))


def test_mask_count_148_of_196_at_224():
    cfg = tiny_conmim_cfg('vit-b_800e.py')
    init_default_scope('mmpretrain')
    generator = Compose([t for t in cfg.train_pipeline
                         if t['type'] == 'SimMIMMaskGenerator'])
    for seed in range(5):
        np.random.seed(seed)
        mask = generator(dict(img=np.zeros((224, 224, 3), np.uint8)))['mask']
        assert mask.shape == (14, 14)
        assert mask.sum() == 148
        # 32-pixel cells: each 2x2 block of patches is all 0 or all 1
        cells = mask.reshape(7, 2, 7, 2).transpose(0, 2, 1, 3).reshape(49, 4)
        assert set(cells.sum(1).tolist()) <= {0, 4}


def test_demo_changes_only_its_sizes():
    """The demo's pipeline is the published one with its sizes (and the
    pillow decoder) merged in; it masks 12 of its 16 patches, one patch per
    8-pixel cell."""
    published = Config.fromfile(osp.join(CONMIM, 'vit-b_300e.py'))
    demo = Config.fromfile(osp.join(CONMIM, 'demo_vit-tiny.py'))
    assert demo.train_dataloader.dataset.pipeline == demo.train_pipeline
    assert [t.type for t in demo.train_pipeline] == [
        t.type for t in published.train_pipeline
    ]
    changed = {}
    for ours, base in zip(demo.train_pipeline, published.train_pipeline):
        assert set(base) <= set(ours)
        diff = {k: v for k, v in ours.items() if k not in base or v != base[k]}
        if diff:
            changed[ours.type] = diff
    assert changed == {
        'CheckedLoadImageFromFile': dict(imdecode_backend='pillow'),
        'RandomResizedCropAndInterpolationWithTwoPic': dict(size=32),
        'SimMIMMaskGenerator': dict(
            input_size=32, mask_patch_size=8, model_patch_size=8),
    }
    assert (demo.model.backbone.img_size, demo.model.backbone.patch_size) == (
        32, 8)
    # the published hooks, then the demo's
    assert [h.type for h in demo.custom_hooks] == [
        'TeacherUpdateHook', 'SkippedStepHook', 'SafeCheckpointHook',
        'ParamGroupSummaryHook', 'LossCurveHook', 'KNNMonitorHook'
    ]
    init_default_scope('mmpretrain')
    generator = Compose([t for t in demo.train_pipeline
                         if t['type'] == 'SimMIMMaskGenerator'])
    mask = generator(dict(img=np.zeros((32, 32, 3), np.uint8)))['mask']
    assert mask.shape == (4, 4) and mask.sum() == 12

