"""conmim_mm.launch, the config handling behind tools/train.py and
tools/test.py: default hooks, --amp, --auto-scale-lr."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT
from conmim_mm.errors import ConfigError
from conmim_mm.launch import (add_default_hooks, enable_amp,
                              set_auto_scale_lr, set_launcher)


def test_amp_configs_get_the_skip_hook_and_keep_their_settings():
    for kind in ('AmpOptimWrapper', 'CheckedAmpOptimWrapper',
                 'PortableAmpOptimWrapper'):
        cfg = Config(dict(optim_wrapper=dict(type=kind),
                          custom_hooks=[dict(type='SkippedStepHook',
                                             max_consecutive=5)]))
        add_default_hooks(cfg)
        assert cfg.custom_hooks == [
            dict(type='SkippedStepHook', max_consecutive=5),
            dict(type='SafeCheckpointHook'),
            dict(type='ParamGroupSummaryHook')]
    for kind in ('OptimWrapper', 'CheckedOptimWrapper'):
        cfg = Config(dict(optim_wrapper=dict(type=kind)))
        add_default_hooks(cfg)
        assert cfg.custom_hooks == [dict(type='SafeCheckpointHook'),
                                    dict(type='ParamGroupSummaryHook')]


def test_a_config_listing_the_hooks_is_left_alone():
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'conmim', 'demo_vit-tiny.py'))
    cfg.custom_hooks.append(dict(type='ParamGroupSummaryHook', priority=20))
    listed = [dict(hook) for hook in cfg.custom_hooks]
    add_default_hooks(cfg)
    assert [dict(hook) for hook in cfg.custom_hooks] == listed


@pytest.mark.parametrize('kind,expected', [
    ('OptimWrapper', 'PortableAmpOptimWrapper'),
    ('CheckedOptimWrapper', 'CheckedAmpOptimWrapper'),
    ('AmpOptimWrapper', 'AmpOptimWrapper'),
    ('CheckedAmpOptimWrapper', 'CheckedAmpOptimWrapper'),
    ('PortableAmpOptimWrapper', 'PortableAmpOptimWrapper'),
])
def test_amp_maps_each_wrapper_to_its_mixed_precision_version(kind,
                                                              expected):
    cfg = Config(dict(optim_wrapper=dict(type=kind)))
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == expected


def test_amp_refuses_other_wrappers():
    cfg = Config(dict(optim_wrapper=dict(type='ApexOptimWrapper')))
    with pytest.raises(ConfigError, match='--amp needs optim_wrapper.type '
                       'OptimWrapper or CheckedOptimWrapper, got '
                       'ApexOptimWrapper'):
        enable_amp(cfg)


@pytest.mark.parametrize('flag,enable,counts,base', [
    (True, False, 1, 2048), (True, False, 4, 512),
    (False, True, 4, 512), (False, False, 4, 2048)])
def test_auto_scale_lr_counts_accumulation(flag, enable, counts, base):
    """mmengine scales by processes x batch / base: the base it is handed is
    divided by the accumulation count, whether the flag or the config turns
    the scaling on; without either, nothing changes."""
    cfg = Config(dict(
        optim_wrapper=dict(accumulative_counts=counts),
        auto_scale_lr=dict(base_batch_size=2048, enable=enable)))
    set_auto_scale_lr(cfg, flag)
    assert cfg.auto_scale_lr == dict(base_batch_size=base,
                                     enable=flag or enable)


def test_auto_scale_lr_needs_a_base_batch():
    with pytest.raises(ConfigError, match='base_batch_size=N'):
        set_auto_scale_lr(Config(dict(optim_wrapper=dict())), True)


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU launch')
def test_cpu_processes_use_the_configs_wrapper_without_device_ids():
    """The ConMIM configs name their DDP wrapper and leave device_ids to
    mmengine ([LOCAL_RANK] on GPUs); on a CPU (gloo) tools/train.py wraps
    without device ids."""
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'conmim', 'vit-b_800e.py'))
    assert 'device_ids' not in cfg.model_wrapper_cfg
    set_launcher(cfg, 'slurm')  # starts no process group
    assert cfg.model_wrapper_cfg.type == 'CompilableDistributedDataParallel'
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
