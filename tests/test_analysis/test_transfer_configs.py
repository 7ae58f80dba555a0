"""The transfer benchmark's run configs: a method's pre-training config on
the pool, and its fine-tuning config for one seed and labelled subset."""
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import ROOT
from conmim_mm.analysis.transfer import (BenchmarkData, Method, Recipe,
                                         builtin_methods, finetune_config,
                                         pretrain_config)
from conmim_mm.analysis.transfer.configs import set_iterations
from conmim_mm.errors import ConfigError

CONFIGS = osp.join(ROOT, 'configs', 'transfer')


@pytest.fixture(scope='module')
def methods() -> dict:
    return builtin_methods(CONFIGS)


@pytest.fixture
def data(tmp_path) -> BenchmarkData:
    """Three classes; only the lists' paths matter to the configs."""
    parts = {part: [(f'{c}/{part}{i}.png', c) for c in range(3)
                    for i in range(n)]
             for part, n in (('train', 4), ('val', 1), ('test', 1))}
    return BenchmarkData('/images', ['0', '1', '2'], parts,
                         str(tmp_path / 'meta'))


@pytest.fixture
def own_conmim(tmp_path) -> Method:
    """A user's ConMIM config: width 64, 48 px images of 16-pixel patches."""
    path = tmp_path / 'my_conmim.py'
    path.write_text(
        f"_base_ = ['{osp.join(CONFIGS, 'conmim.py')}']\n"
        'model = dict(backbone=dict(arch=dict(embed_dims=64, num_layers=2, '
        'num_heads=2, feedforward_channels=128), img_size=48, '
        'patch_size=16))\n')
    return Method('mine', osp.join(CONFIGS, 'finetune_beit.py'), str(path))


def test_set_iterations_rescales_every_scheduler():
    cfg = Config(dict(
        train_cfg=dict(max_iters=1000),
        param_scheduler=[dict(begin=0, end=100), dict(begin=100, end=1000)]))
    assert set_iterations(cfg, None) == 1000
    assert cfg.param_scheduler[1].end == 1000
    assert set_iterations(cfg, 50) == 50
    assert cfg.train_cfg.max_iters == 50
    assert [(s.begin, s.end) for s in cfg.param_scheduler] == [(0, 5),
                                                               (5, 50)]
    set_iterations(cfg, 2)  # every scheduler keeps an iteration
    assert [(s.begin, s.end) for s in cfg.param_scheduler] == [(0, 1),
                                                               (0, 2)]


def test_pretraining_reads_the_pool_with_the_method_pipeline(data, methods):
    cfg = pretrain_config(methods['conmim'], 3, data, '/work/pre/conmim',
                          Recipe(pretrain_iters=120))
    published = Config.fromfile(osp.join(CONFIGS, 'conmim.py'))
    assert cfg.train_dataloader.dataset == dict(
        type='CustomDataset', data_root='/images',
        ann_file=osp.join(data.meta, 'pool.txt'), with_label=False,
        pipeline=published.train_dataloader.dataset.pipeline)
    assert (cfg.work_dir, cfg.launcher, cfg.log_level) == (
        '/work/pre/conmim', 'none', 'WARNING')
    assert cfg.randomness == dict(seed=3, diff_rank_seed=False)
    # 1200 iterations, 120 of warm-up, scaled to 120
    assert published.train_cfg.max_iters == 1200
    assert cfg.train_cfg.max_iters == 120
    assert [(s.begin, s.end) for s in cfg.param_scheduler] == [(0, 12),
                                                               (12, 120)]
    checkpoint = cfg.default_hooks.checkpoint
    assert (checkpoint.interval, checkpoint.by_epoch,
            checkpoint.max_keep_ckpts) == (120, False, 1)


def test_iterations_of_an_epoch_based_pretraining_are_one_error(
        tmp_path, data):
    path = tmp_path / 'epochs.py'
    path.write_text(
        f"_base_ = ['{osp.join(CONFIGS, 'mae.py')}']\n"
        "train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', "
        'max_epochs=2)\n')
    method = Method('epochs', osp.join(CONFIGS, 'finetune_vit.py'),
                    str(path))
    assert pretrain_config(method, 0, data, '/w', Recipe()).train_cfg == dict(
        type='EpochBasedTrainLoop', max_epochs=2)
    with pytest.raises(ConfigError, match=r'^--pretrain-iters needs '
                       r'iteration-based configs; .*epochs\.py trains by '
                       r'epochs$'):
        pretrain_config(method, 0, data, '/w', Recipe(pretrain_iters=5))


def test_finetuning_takes_the_pretrained_architecture(data, own_conmim):
    recipe = Recipe(finetune_iters=80, finetune_options={
        'optim_wrapper.optimizer.lr': 1e-3})
    cfg = finetune_config(own_conmim, 1, '/meta/subset.txt', data,
                          '/work/ft', '/ckpt/mine.pth', recipe)
    backbone = cfg.model.backbone
    assert backbone.arch == dict(embed_dims=64, num_layers=2, num_heads=2,
                                 feedforward_channels=128)
    assert (backbone.img_size, backbone.patch_size) == (48, 16)
    assert backbone.init_cfg.checkpoint == '/ckpt/mine.pth'
    assert backbone.init_cfg.prefix == 'teacher.backbone.'
    assert cfg.model.head.in_channels == 64
    assert cfg.model.head.num_classes == 3
    assert cfg.data_preprocessor.num_classes == 3
    scales = [step.scale for loader in (cfg.train_dataloader,
                                        cfg.test_dataloader)
              for step in loader.dataset.pipeline if 'scale' in step]
    assert scales == [48, 48]
    assert cfg.optim_wrapper.optimizer.lr == 1e-3
    assert (cfg.train_cfg.max_iters, cfg.train_cfg.val_interval) == (80, 81)
    assert cfg.randomness == dict(seed=1, diff_rank_seed=False)
    assert {name: (loader.dataset.data_root, loader.dataset.ann_file)
            for name, loader in (('train', cfg.train_dataloader),
                                 ('val', cfg.val_dataloader),
                                 ('test', cfg.test_dataloader))} == {
        'train': ('/images', '/meta/subset.txt'),
        'val': ('/images', osp.join(data.meta, 'val.txt')),
        'test': ('/images', osp.join(data.meta, 'test.txt'))}


def test_a_random_init_row_keeps_its_family_and_has_no_weights(
        data, methods):
    cfg = finetune_config(methods['scratch_vit'], 0, '/meta/train.txt', data,
                          '/work/ft', None, Recipe(quiet=False))
    family = Config.fromfile(osp.join(CONFIGS, 'finetune_vit.py'))
    assert cfg.model.backbone.init_cfg is None
    assert cfg.model.backbone.arch == family.model.backbone.arch
    assert cfg.model.head.num_classes == 3
    assert cfg.train_cfg.max_iters == family.train_cfg.max_iters
    assert cfg.log_level == family.log_level  # not quietened


def test_a_pretrained_arch_by_name_is_one_error(tmp_path, data):
    path = tmp_path / 'named_arch.py'
    path.write_text(
        f"_base_ = ['{osp.join(CONFIGS, 'mae.py')}']\n"
        "model = dict(backbone=dict(arch='b'))\n")
    method = Method('named', osp.join(CONFIGS, 'finetune_vit.py'), str(path))
    with pytest.raises(ConfigError, match=r"named_arch\.py: the benchmark "
                       r"fine-tunes backbones whose model\.backbone\.arch is "
                       r"a dict .* got 'b'$"):
        finetune_config(method, 0, '/t.txt', data, '/w', '/c.pth', Recipe())
