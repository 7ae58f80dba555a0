"""tools/train.py's checkpoints load weights-only, and ``--resume PATH``
continues exactly where the shared reference run (conftest.py's
``reference_run``) was: the resumed run ends with its student, teacher,
BatchNorm statistics, optimizer state and momentum schedule bit for bit.
(``--resume`` without a path, after a kill, a kill while checkpointing and
a NaN: test_train_faults.py, on the same reference run.)"""
import math

import pytest
import torch

from common import (BACKGROUND, FAULTS, REFERENCE_ITERS, REFERENCE_OPTIONS,
                    background_run, train_command)
from conmim_mm.checkpoints import load_checkpoint_file
from faults import assert_same_state


def test_train_writes_weights_only_checkpoints(reference_run):
    work_dir = reference_run.work_dir
    for it in range(1, REFERENCE_ITERS + 1):
        # plain torch, no allow-list: only tensors and plain data inside
        checkpoint = torch.load(str(work_dir / f'iter_{it}.pth'),
                                weights_only=True)
        assert checkpoint['meta']['iter'] == it
        assert {'meta', 'state_dict', 'message_hub', 'optimizer',
                'param_schedulers'} <= set(checkpoint)
    assert (work_dir / 'last_checkpoint').read_text().strip() == str(
        work_dir / f'iter_{REFERENCE_ITERS}.pth')


def _momentum(cur_iter: int) -> float:
    """The cosine schedule from the demo's base momentum (0.99) to 1."""
    from mmengine.config import Config
    base = Config.fromfile(FAULTS).model.teacher_momentum
    return 1 - (1 - base) * (
        math.cos(math.pi * cur_iter / REFERENCE_ITERS) + 1) / 2


@background_run('reference_run')
def resumed_run(work_dir):
    """The reference run's command resumed from its iteration 2."""
    start = BACKGROUND.work_dir('reference_run') / 'iter_2.pth'
    return train_command(FAULTS, work_dir, *REFERENCE_OPTIONS,
                         args=['--resume', str(start)]), {}


def test_resume_from_a_path_is_exact(reference_run, resumed_run):
    reference, resumed = reference_run.work_dir, resumed_run.work_dir
    start = reference / 'iter_2.pth'
    assert 'resumed epoch: 0, iter: 2' in resumed_run.log
    assert not (resumed / 'iter_2.pth').exists()  # started after iter 2
    assert (resumed / 'iter_4.pth').exists()
    assert_same_state(resumed / 'iter_12.pth', reference / 'iter_12.pth',
                      atol=0)
    final = load_checkpoint_file(str(resumed / 'iter_12.pth'))
    initial = load_checkpoint_file(str(start))['state_dict']
    assert not torch.equal(initial['neck.fc0.weight'],
                           final['state_dict']['neck.fc0.weight'])
    # the momentum schedule went on at iteration 3 (index 2)
    logged = final['message_hub']['log_scalars']['train/teacher_momentum']
    assert logged['log_history'][-10:] == pytest.approx(
        [_momentum(i) for i in range(2, 12)])
