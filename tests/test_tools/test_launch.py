"""conmim_mm.launch, what tools/train.py adds to a config: each change is
said in one log line and is in the config the runner dumps."""
import logging
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

from conftest import ROOT
from conmim_mm.errors import ConfigError
from conmim_mm.launch import enable_amp, set_auto_scale_lr, set_launcher


@pytest.fixture
def said():
    """The lines logged to mmengine's current logger; each call returns
    those logged since the last."""
    records = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)

    def lines() -> list:
        taken = list(records)
        records.clear()
        return taken
    yield lines
    logger.removeHandler(handler)


@pytest.mark.parametrize('kind,expected', [
    ('OptimWrapper', 'PortableAmpOptimWrapper'),
    ('CheckedOptimWrapper', 'CheckedAmpOptimWrapper'),
])
def test_amp_maps_each_wrapper_to_its_mixed_precision_version(
        kind, expected, said):
    cfg = Config(dict(optim_wrapper=dict(type=kind)))
    enable_amp(cfg)
    assert cfg.optim_wrapper == dict(type=expected, loss_scale='dynamic')
    lines = said()
    assert len(lines) == 1
    assert lines[0] == (f"--amp: optim_wrapper.type {kind} -> "
                             f"{expected}, loss_scale='dynamic'")


@pytest.mark.parametrize('kind', ['AmpOptimWrapper', 'CheckedAmpOptimWrapper',
                                  'PortableAmpOptimWrapper'])
def test_amp_keeps_mixed_precision_wrappers_and_says_nothing(kind, said):
    cfg = Config(dict(optim_wrapper=dict(type=kind)))
    enable_amp(cfg)
    assert cfg.optim_wrapper == dict(type=kind)
    assert said() == []


def test_amp_refuses_other_wrappers():
    cfg = Config(dict(optim_wrapper=dict(type='ApexOptimWrapper')))
    with pytest.raises(ConfigError, match='--amp needs optim_wrapper.type '
                       'OptimWrapper or CheckedOptimWrapper, got '
                       'ApexOptimWrapper'):
        enable_amp(cfg)


@pytest.mark.parametrize('flag,enable,counts,base', [
    (True, False, 1, 2048), (True, False, 4, 512),
    (False, True, 4, 512), (False, False, 4, 2048)])
def test_auto_scale_lr_counts_accumulation(flag, enable, counts, base, said):
    """mmengine scales by processes x batch / base: the base it is handed is
    divided by the accumulation count, whether the flag or the config turns
    the scaling on; without either, nothing changes."""
    cfg = Config(dict(
        optim_wrapper=dict(accumulative_counts=counts),
        auto_scale_lr=dict(base_batch_size=2048, enable=enable)))
    set_auto_scale_lr(cfg, flag)
    assert cfg.auto_scale_lr == dict(base_batch_size=base,
                                     enable=flag or enable)
    lines = said()
    if not (flag or enable):
        assert lines == []
    elif counts == 1:
        assert len(lines) == 1 and lines[0] == (
            'auto_scale_lr: enable=True')
    else:
        assert len(lines) == 1 and lines[0] == (
            'auto_scale_lr: enable=True, base_batch_size 2048 -> 512 for '
            'mmengine, which does not count the 4 accumulated batches')


def test_auto_scale_lr_needs_a_base_batch():
    with pytest.raises(ConfigError, match='base_batch_size=N'):
        set_auto_scale_lr(Config(dict(optim_wrapper=dict())), True)


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU launch')
def test_cpu_processes_use_the_configs_wrapper_without_device_ids(said):
    """The ConMIM configs name their DDP wrapper and leave device_ids to
    mmengine ([LOCAL_RANK] on GPUs); on a CPU (gloo) tools/train.py wraps
    without device ids, and says so."""
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'conmim', 'vit-b_800e.py'))
    assert 'device_ids' not in cfg.model_wrapper_cfg
    said()
    set_launcher(cfg, 'slurm')  # starts no process group
    assert cfg.model_wrapper_cfg.type == 'CompilableDistributedDataParallel'
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    lines = said()
    assert len(lines) == 1 and lines[0] == (
        "--launcher slurm without CUDA: env_cfg.dist_cfg.backend='gloo', "
        'model_wrapper_cfg CompilableDistributedDataParallel with '
        'device_ids=None')


def test_no_launcher_changes_only_the_launcher(said):
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'conmim', 'vit-b_800e.py'))
    before = cfg.to_dict()
    set_launcher(cfg, 'none')
    assert cfg.to_dict() == dict(before, launcher='none')
    assert said() == []
