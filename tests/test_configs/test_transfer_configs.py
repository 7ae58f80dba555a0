"""The transfer benchmark's configs give every method the same budget."""
import os.path as osp

import pytest
from mmengine.config import Config

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), 'configs',
                   'transfer')
PRETRAIN = ['conmim', 'conmim_abs', 'mae', 'maskfeat', 'mocov3']
FINETUNE = ['finetune_beit', 'finetune_beit_abs', 'finetune_vit',
            'finetune_vit_cls']
BUDGET = Config.fromfile(osp.join(CONFIGS, '_base_', 'budget.py')).transfer


def load(name: str) -> Config:
    return Config.fromfile(osp.join(CONFIGS, f'{name}.py'))


@pytest.mark.parametrize('name', PRETRAIN)
def test_pretraining_budget_is_shared(name):
    cfg = load(name)
    backbone = cfg.model.backbone
    assert dict(backbone.arch) == dict(BUDGET.arch)
    assert (backbone.img_size, backbone.patch_size) == (32, 8)
    assert cfg.train_dataloader.batch_size == BUDGET.batch_size == 64
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_cfg.max_iters == BUDGET.max_iters == 1200
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end) == ('LinearLR', 0, 120)
    assert (cosine.type, cosine.begin, cosine.end) == (
        'CosineAnnealingLR', 120, 1200)
    assert not cosine.by_epoch and not warmup.by_epoch
    # the benchmark replaces the dataset by the pool and keeps the pipeline
    assert cfg.train_dataloader.dataset.type == 'CustomDataset'
    assert cfg.train_dataloader.dataset.with_label is False
    assert cfg.default_hooks.checkpoint.interval == 1200


def test_peers_keep_their_published_peak_lr():
    assert {name: load(name).optim_wrapper.optimizer.lr
            for name in PRETRAIN} == {
                'conmim': 1.5e-3, 'conmim_abs': 1.5e-3, 'mae': 2.4e-3,
                'maskfeat': 1.6e-3, 'mocov3': 2.4e-3}


def test_one_finetuning_recipe_for_every_family():
    cfgs = {name: load(name) for name in FINETUNE}
    shared = ['optim_wrapper', 'param_scheduler', 'train_cfg',
              'train_dataloader', 'test_dataloader', 'val_dataloader',
              'data_preprocessor']
    reference = cfgs['finetune_vit']
    for name, cfg in cfgs.items():
        for key in shared:
            assert cfg[key] == reference[key], (name, key)
        assert cfg.model.head == reference.model.head
        assert dict(cfg.model.backbone.arch) == dict(BUDGET.arch)
    backbones = {name: (cfg.model.backbone.type,
                        cfg.model.backbone.get('out_type'),
                        cfg.model.backbone.get('use_abs_pos_emb'),
                        cfg.model.backbone.get('use_rel_pos_bias'),
                        cfg.model.backbone.init_cfg.prefix)
                 for name, cfg in cfgs.items()}
    assert backbones == {
        'finetune_beit': ('ConMIMBEiTViT', 'avg_featmap', False, True,
                          'teacher.backbone.'),
        'finetune_beit_abs': ('ConMIMBEiTViT', 'avg_featmap', True, False,
                              'teacher.backbone.'),
        'finetune_vit': ('VisionTransformer', 'avg_featmap', None, None,
                         'backbone.'),
        'finetune_vit_cls': ('VisionTransformer', 'cls_token', None, None,
                             'backbone.'),
    }
