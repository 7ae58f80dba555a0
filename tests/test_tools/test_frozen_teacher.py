"""A config whose custom_hooks lost TeacherUpdateHook never trains against
a frozen teacher: ConMIM stops before its first optimizer step, naming the
hook, under our tools/train.py (one line) and mmpretrain's own."""
import os.path as osp

import pytest

from conftest import CONFIGS, mmpretrain_train_script, run_tool

CONFIG = osp.join(CONFIGS, 'demo_no_teacher_hook.py')
MESSAGE = ('ConMIM would train against a frozen teacher: nothing updates it '
           "after the optimizer step. Add dict(type='TeacherUpdateHook') to "
           'custom_hooks')


@pytest.mark.parametrize('script', ['ours', 'mmpretrain'])
def test_stops_before_the_first_step(tmp_path, script):
    path = 'tools/train.py' if script == 'ours' else mmpretrain_train_script()
    result = run_tool([path, CONFIG, '--work-dir', str(tmp_path)])
    assert result.returncode != 0
    if script == 'ours':
        assert 'Traceback' not in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith(
            'error: ' + MESSAGE)
    else:
        assert MESSAGE in result.stderr.strip().splitlines()[-1]
    assert not list(tmp_path.glob('*.pth'))
