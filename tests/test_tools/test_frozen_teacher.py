"""A config whose custom_hooks lost TeacherUpdateHook never trains against
a frozen teacher: ConMIM stops before its first optimizer step, naming the
hook, under our tools/train.py (one line) and mmpretrain's own."""
import os.path as osp

import pytest

from common import CONFIGS, background_run, mmpretrain_train_script

CONFIG = osp.join(CONFIGS, 'demo_no_teacher_hook.py')
MESSAGE = ('ConMIM would train against a frozen teacher: nothing updates it '
           "after the optimizer step. Add dict(type='TeacherUpdateHook') to "
           'custom_hooks')


@background_run(succeeds=False)
def frozen_ours_run(work_dir):
    return ['tools/train.py', CONFIG, '--work-dir', str(work_dir)], {}


@background_run(succeeds=False)
def frozen_mmpretrain_run(work_dir):
    return [mmpretrain_train_script(), CONFIG, '--work-dir',
            str(work_dir)], {}


@pytest.mark.parametrize('script', ['ours', 'mmpretrain'])
def test_stops_before_the_first_step(frozen_ours_run, frozen_mmpretrain_run,
                                     script):
    run = frozen_ours_run if script == 'ours' else frozen_mmpretrain_run
    result, work_dir = run.result, run.work_dir
    assert result.returncode != 0
    if script == 'ours':
        assert 'Traceback' not in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith(
            'error: ' + MESSAGE)
    else:
        assert MESSAGE in result.stderr.strip().splitlines()[-1]
    assert not list(work_dir.glob('*.pth'))
