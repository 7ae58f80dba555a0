"""The demo config trains and resumes through mmpretrain's own
tools/train.py (the copy installed with mmpretrain) exactly as through
ours, with the same hooks: the configs need nothing from our tools."""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT, mmpretrain_train_script, run_tool

DEMO = osp.join(ROOT, 'configs', 'conmim', 'demo_vit-tiny.py')


def _options(max_iters: int) -> list:
    """Batch 4 in the main process, the warm-up and cosine over 6
    iterations, a checkpoint every 2, a kNN monitor on 40 + 20 digits."""
    hooks = [hook['type'] for hook in Config.fromfile(DEMO).custom_hooks]
    knn = f'custom_hooks.{hooks.index("KNNMonitorHook")}'
    return [
        '--cfg-options', f'train_cfg.max_iters={max_iters}',
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'param_scheduler.0.end=2', 'param_scheduler.1.begin=2',
        'param_scheduler.1.end=6', 'default_hooks.checkpoint.interval=2',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'default_hooks.logger.interval=1', f'{knn}.k=5', *[
            f'{knn}.{split}_dataloader.dataset.num_{part}={number}'
            for split in ('train', 'val')
            for part, number in (('train', 40), ('val', 20))
        ]
    ]


def _ok(result) -> str:
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    return out


def _hooks_table(log: str) -> str:
    """The runner's table of hooks (each with its priority, per stage)."""
    start = log.index('Hooks will be executed in the following order:')
    end = re.search(r'\n\d\d/\d\d \d\d:\d\d:\d\d - mmengine',
                    log[start:]).start()
    return log[start:start + end]


def _train_then_resume(script: str, work_dir) -> str:
    """4 iterations, then ``--resume`` (the latest checkpoint) to 6;
    returns the first run's table of hooks."""
    log = _ok(run_tool([script, DEMO, '--work-dir', str(work_dir),
                        *_options(4)]))
    assert not (work_dir / 'iter_6.pth').exists()
    log = _ok(run_tool([script, DEMO, '--work-dir', str(work_dir),
                        '--resume', *_options(6)]))
    assert 'resumed epoch: 0, iter: 4' in log
    return _hooks_table(log)


@pytest.fixture(scope='module')
def runs(tmp_path_factory) -> dict:
    """The work dirs of the same procedure through both scripts."""
    work_dirs, hooks = {}, {}
    for name, script in (('mmpretrain', mmpretrain_train_script()),
                         ('conmim_mm', 'tools/train.py')):
        work_dirs[name] = tmp_path_factory.mktemp(name)
        hooks[name] = _train_then_resume(script, work_dirs[name])
    return dict(work_dirs=work_dirs, hooks=hooks)


def test_both_scripts_run_the_same_hooks_in_the_same_order(runs):
    table = runs['hooks']['conmim_mm']
    for hook in ('TeacherUpdateHook', 'SkippedStepHook', 'SafeCheckpointHook',
                 'ParamGroupSummaryHook', 'KNNMonitorHook', 'CheckpointHook'):
        assert hook in table
    assert table == runs['hooks']['mmpretrain']


def test_checkpoints_load_with_plain_weights_only_torch_load(runs):
    for work_dir in runs['work_dirs'].values():
        assert sorted(p.name for p in work_dir.glob('*.pth')) == [
            'iter_2.pth', 'iter_4.pth', 'iter_6.pth']
        for it in (2, 4, 6):
            checkpoint = torch.load(str(work_dir / f'iter_{it}.pth'),
                                    weights_only=True)
            assert checkpoint['meta']['iter'] == it
            losses = checkpoint['message_hub']['log_scalars']['train/loss']
            assert len(losses['log_history']) == it  # kept by the resume


def test_both_scripts_end_with_the_same_student_and_teacher(runs):
    final = {name: torch.load(str(work_dir / 'iter_6.pth'),
                              weights_only=True)['state_dict']
             for name, work_dir in runs['work_dirs'].items()}
    ours, theirs = final['conmim_mm'], final['mmpretrain']
    assert ours.keys() == theirs.keys()
    assert any(k.startswith('teacher.backbone.') for k in ours)
    assert any(k.startswith('neck.') for k in ours)
    for key, value in theirs.items():
        assert torch.equal(ours[key], value), key
    # the teacher moved during the resumed iterations
    theirs_dir = runs['work_dirs']['mmpretrain']
    before = torch.load(str(theirs_dir / 'iter_4.pth'),
                        weights_only=True)['state_dict']
    key = 'teacher.backbone.layers.0.attn.qkv.weight'
    assert not torch.equal(before[key], theirs[key])
