"""A real run of tools/train.py with gradient accumulation 2: the teacher
changes exactly on the iterations where the student does, and
--auto-scale-lr scales the lr by the total batch, accumulation included."""
import pytest

from common import FAULTS, background_run, train_command
from conmim_mm.checkpoints import load_checkpoint_file
from faults import parameter_keys

ITERS = 6


@background_run()
def accumulation_run(work_dir):
    """6 iterations of batch 4, accumulation 2, a checkpoint after each."""
    return train_command(
        FAULTS, work_dir, 'optim_wrapper.accumulative_counts=2',
        f'train_cfg.max_iters={ITERS}', 'default_hooks.checkpoint.interval=1',
        args=['--auto-scale-lr']), {}


@pytest.fixture(scope='module')
def run(accumulation_run):
    """The run's output and its checkpoints, by iteration."""
    states = {it: load_checkpoint_file(
        str(accumulation_run.work_dir / f'iter_{it}.pth'))
        for it in range(1, ITERS + 1)}
    return accumulation_run.log, states


def _changed(before: dict, after: dict, teacher: bool) -> bool:
    keys = [k for k in parameter_keys(after)
            if k.startswith('teacher.') == teacher]
    return any(not after[k].equal(before[k]) for k in keys)


def test_teacher_changes_exactly_when_the_student_does(run):
    _, states = run
    student, teacher = [], []
    for it in range(2, ITERS + 1):
        before, after = (states[it - 1]['state_dict'],
                         states[it]['state_dict'])
        student.append(_changed(before, after, teacher=False))
        teacher.append(_changed(before, after, teacher=True))
    # optimizer steps at iterations 2, 4, 6 (1-based)
    assert student == [True, False, True, False, True]
    assert teacher == student


def test_auto_scale_lr_counts_the_accumulation(run):
    """1 process x batch 4 x 2 accumulated = 8 of the base 2048: the demo's
    lr 2e-3 (x10 on the relative position table) times 8 / 2048."""
    out, states = run
    assert ('auto_scale_lr: total batch 1 processes x 4 x 2 accumulated = 8 '
            '(base_batch_size 2048): lr 0.002 x 0.00390625 = 7.8125e-06'
            ) in out
    # mmengine's own line, from the base batch divided by the accumulation
    assert ('LR is set based on batch size of 1024.0 and the current batch '
            'size is 4. Scaling the original LR by 0.00390625.') in out
    initial = sorted({group['initial_lr']
                      for group in states[ITERS]['optimizer']['param_groups']})
    assert initial == pytest.approx([7.8125e-06, 7.8125e-05], rel=1e-9)
