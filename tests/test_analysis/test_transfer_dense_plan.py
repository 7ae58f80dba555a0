"""The dense tasks' plan: which runs, in which order, producing which
cells; the configs of each backbone family; the command line's tasks and
scene budgets; the progress line with its checks."""
import pytest

from conmim_mm.analysis.transfer import (DenseCell, DensePlan, DenseRun,
                                         Method, Progress, Run)
from conmim_mm.analysis.transfer.arguments import parse_counts, parse_tasks
from conmim_mm.analysis.transfer.dense_plan import dense_config_path
from conmim_mm.errors import ConfigError


@pytest.fixture
def methods() -> dict:
    """A method to pre-train, one with weights given, a random-init row."""
    return {
        'conmim': Method('conmim', 'c/finetune_beit.py', 'conmim.py'),
        'given': Method('given', 'c/finetune_vit_cls.py', 'mocov3.py',
                        'given.pth'),
        'scratch': Method('scratch', 'c/finetune_vit.py'),
    }


def test_runs_go_by_seed_then_method_task_and_budget(methods):
    plan = DensePlan(methods, [0, 1], ['segment', 'detect'], [100, 1000])
    per_seed = ['pretrain conmim seed {s}'] + [
        f'{task} {method} seed {{s}}, {n} train scenes'
        for method in methods for task in ('segment', 'detect')
        for n in (100, 1000)
    ]
    assert [str(run) for run in plan.runs()] == [
        line.format(s=seed) for seed in (0, 1) for line in per_seed]
    assert len(plan.runs()) == 2 * (1 + 3 * 2 * 2)


def test_runs_produce_every_method_seed_task_and_budget(methods):
    plan = DensePlan(methods, [0, 1], ['detect'], [100, 1000], 'val')
    assert [run.cell for run in plan.runs() if isinstance(run, DenseRun)
            ] == [DenseCell(m, 'detect', n, s) for s in (0, 1)
                  for m in methods for n in (100, 1000)]


@pytest.mark.parametrize('method, task, config', [
    ('conmim', 'segment', 'c/segment_beit.py'),
    ('given', 'detect', 'c/detect_vit.py'),  # MoCo v3's [CLS] family
    ('scratch', 'detect', 'c/detect_vit.py'),
])
def test_each_family_has_its_dense_config(methods, method, task, config):
    assert dense_config_path(methods[method], task, 'c') == config
    abs_method = Method('a', 'x/finetune_beit_abs.py')
    assert dense_config_path(abs_method, task, 'c') == f'c/{task}_beit_abs.py'


def test_progress_lists_the_checks_under_the_run():
    run = DenseRun('segment', 'conmim', 0, 100)
    line = str(Progress(2, 9, run, 'test mIoU 50.00', 61.2,
                        ('batch norms: 14, no SyncBN (1 process)',
                         'backbone: 67 of 67')))
    assert line.splitlines() == [
        '[2/9] segment conmim seed 0, 100 train scenes: test mIoU 50.00 '
        '(61 s)', '    check: batch norms: 14, no SyncBN (1 process)',
        '    check: backbone: 67 of 67'
    ]
    assert str(Progress(1, 9, Run('pretrain', 'conmim', 0), 'loss 1', 2.)
               ) == '[1/9] pretrain conmim seed 0: loss 1 (2 s)'


def test_tasks_come_in_the_benchmark_order():
    assert parse_tasks('detect,classify,segment') == ['classify', 'segment',
                                                      'detect']
    assert parse_tasks('classify') == ['classify']
    with pytest.raises(ConfigError,
                       match="--tasks: 'segmentation' is not one of "
                       'classify, segment, detect'):
        parse_tasks('segmentation')


def test_counts_are_positive_integers():
    assert parse_counts('100,1000', '--train-scenes') == [100, 1000]
    for bad in ('100,', '0', 'all', '-5'):
        with pytest.raises(ConfigError, match='^--train-scenes takes'):
            parse_counts(bad, '--train-scenes')
