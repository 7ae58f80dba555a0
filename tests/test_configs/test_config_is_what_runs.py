"""The config is what runs: from each of our configs, tools/train.py (no
flags) hands mmengine's Runner the config that the training script of the
config's own library (mmpretrain, mmseg, mmdet) hands it, and every run
writes checkpoints atomically and as plain data."""
import argparse
import glob
import importlib.util
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import ROOT

CONFIGS = sorted(
    path for path in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                               recursive=True)
    if '_base_' not in path)
#: the ADE20K and COCO configs, and the transfer benchmark's dense tasks
#: (configs/transfer/segment_*.py, detect_*.py), which inherit them
DENSE = [p for p in CONFIGS if osp.sep + 'ade20k' + osp.sep in p
         or osp.sep + 'coco' + osp.sep in p
         or osp.basename(p).startswith(('segment_', 'detect_'))]
MMPRETRAIN = [p for p in CONFIGS if p not in DENSE]
#: What every hook list of ours holds, and where only a training config
#: with an AMP wrapper needs it.
ALWAYS = ('SafeCheckpointHook', 'ParamGroupSummaryHook')


def _module(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def ours():
    """tools/train.py's config_from_args."""
    return _module(osp.join(ROOT, 'tools', 'train.py'),
                   'conmim_train').config_from_args


def _our_args(config: str) -> argparse.Namespace:
    return argparse.Namespace(
        config=config, work_dir='/tmp/w', resume=None, amp=False,
        auto_scale_lr=False, cfg_options=None, launcher='none')


def _name(path: str) -> str:
    return osp.relpath(path, ROOT)


@pytest.mark.parametrize('config', MMPRETRAIN, ids=_name)
def test_mmpretrain_train_hands_the_runner_the_same_config(config, ours):
    from conftest import mmpretrain_train_script
    theirs = _module(mmpretrain_train_script(), 'mmpretrain_train')
    args = argparse.Namespace(
        **vars(_our_args(config)), no_validate=False,
        no_pin_memory=False, no_persistent_workers=False)
    expected = theirs.merge_args(Config.fromfile(config), args)
    assert ours(_our_args(config)).to_dict() == expected.to_dict()


@pytest.mark.full_stack
@pytest.mark.parametrize('config', DENSE, ids=_name)
def test_mmseg_and_mmdet_train_hand_the_runner_the_same_config(config, ours):
    """mmseg's and mmdet's tools/train.py set the launcher, the work dir
    and ``resume`` (False without the flag, the Runner's default)."""
    expected = Config.fromfile(config)
    expected.launcher, expected.work_dir = 'none', '/tmp/w'
    got = ours(_our_args(config)).to_dict()
    assert dict(got, resume=False) == dict(expected.to_dict(), resume=False)


@pytest.mark.parametrize('config', [
    path for path in MMPRETRAIN if osp.sep + 'transfer' + osp.sep not in path
] + [pytest.param(path, marks=pytest.mark.full_stack) for path in DENSE],
                         ids=_name)
def test_runs_write_plain_checkpoints_atomically(config):
    cfg = Config.fromfile(config)
    hooks = [hook['type'] for hook in cfg.custom_hooks]
    assert set(ALWAYS) <= set(hooks), hooks
    assert len(hooks) == len(set(hooks))
    if 'Amp' in cfg.optim_wrapper.get('type', ''):
        assert 'SkippedStepHook' in hooks
    assert cfg.default_hooks.checkpoint.backend_args == dict(
        backend='atomic_local')


@pytest.mark.parametrize('config', [
    path for path in MMPRETRAIN
    if osp.sep + 'transfer' + osp.sep in path and 'finetune' not in path
], ids=_name)
def test_benchmark_pretraining_writes_plain_checkpoints(config):
    """The transfer benchmark's pre-training checkpoints, which its
    fine-tuning loads weights-only."""
    hooks = [hook['type'] for hook in Config.fromfile(config).custom_hooks]
    assert 'SafeCheckpointHook' in hooks
