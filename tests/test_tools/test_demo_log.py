"""What a user reads in the demo's log: no library notices, the parameter
groups as one table, the pretext accuracy with the loss."""
import json
import os.path as osp
import re

from conftest import ROOT, run_tool

DEMO = osp.join(ROOT, 'configs', 'conmim', 'demo_vit-tiny.py')


def test_demo_log_is_quiet_and_shows_patch_acc(tmp_path):
    # the demo's persistent data-loader worker runs the pillow colour
    # jitter that warned at every call
    result = run_tool([
        'tools/train.py', DEMO, '--work-dir', str(tmp_path), '--cfg-options',
        'train_cfg.max_iters=3', 'default_hooks.logger.interval=1',
        'train_dataloader.batch_size=4', 'param_scheduler.0.end=2',
        'param_scheduler.1.begin=2'
    ])
    assert result.returncode == 0, result.stderr[-3000:]
    # no Python warning anywhere (main process or workers)
    assert 'Warning' not in result.stderr, result.stderr
    log = result.stdout
    for notice in ('paramwise_options --', '"FileClient" will be deprecated',
                   '"HardDiskBackend" is the alias'):
        assert notice not in log
    # the parameter groups: one table, before the first iteration
    assert log.count('optimizer AdamW: ') == 1
    assert log.index('optimizer AdamW: ') < log.index('Iter(train) [1/3]')
    assert re.search(r'not optimised: \d+ tensors, [\d,]+ parameters in '
                     r'teacher', log)
    accuracies = [float(a) for a in re.findall(
        r'Iter\(train\) \[\d/3\].* loss: [\d.]+  patch_acc: ([\d.]+)', log)]
    assert len(accuracies) == 3 and all(0 <= a <= 100 for a in accuracies)
    scalars = [json.loads(line) for line in open(
        next(tmp_path.glob('*/vis_data/scalars.json')))]
    logged = [s['patch_acc'] for s in scalars if 'patch_acc' in s]
    assert len(logged) == 3 and all(0 <= a <= 100 for a in logged)
    assert (tmp_path / 'loss_curve.png').stat().st_size > 1000
