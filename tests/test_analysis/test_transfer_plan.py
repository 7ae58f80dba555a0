"""The transfer benchmark's plan: which runs, in which order, producing
which result cells."""
import pytest

from conmim_mm.analysis.transfer import Method, Plan, Progress, Run


@pytest.fixture
def methods() -> dict:
    """A method to pre-train, one with weights given, a random-init row."""
    return {
        'conmim': Method('conmim', 'ft_beit.py', 'conmim.py'),
        'given': Method('given', 'ft_beit.py', 'conmim.py', 'given.pth'),
        'scratch': Method('scratch', 'ft_vit.py'),
    }


def test_runs_go_by_seed_then_method(methods):
    plan = Plan(methods, [0, 1], [10, 'all'], ['finetune', 'linear', 'knn'])
    per_seed = [
        'pretrain conmim seed {s}', 'features conmim seed {s}',
        'finetune conmim seed {s}, 10 labels per class',
        'finetune conmim seed {s}, all labels per class',
        'features given seed {s}',
        'finetune given seed {s}, 10 labels per class',
        'finetune given seed {s}, all labels per class',
        'features scratch seed {s}',
        'finetune scratch seed {s}, 10 labels per class',
        'finetune scratch seed {s}, all labels per class',
    ]
    assert [str(run) for run in plan.runs()] == [
        line.format(s=seed) for seed in (0, 1) for line in per_seed]


@pytest.mark.parametrize('protocols, kinds', [
    (['finetune'], ['pretrain', 'finetune', 'finetune']),
    (['knn'], ['pretrain', 'features']),
    (['linear', 'finetune'], ['pretrain', 'features', 'finetune',
                              'finetune']),
])
def test_runs_follow_the_protocols(methods, protocols, kinds):
    plan = Plan({'conmim': methods['conmim']}, [0], [2, 5], protocols)
    assert [run.kind for run in plan.runs()] == kinds


def test_cells_of_the_plan_and_of_each_run(methods):
    plan = Plan(methods, [0, 1], [10, 'all'], ['finetune', 'knn', 'linear'])
    assert len(plan.cells()) == 3 * 2 * 3 * 2
    assert len(set(plan.cells())) == len(plan.cells())
    produced = [cell for run in plan.runs() for cell in plan.run_cells(run)]
    assert len(produced) == len(set(produced))
    assert set(produced) == set(plan.cells())
    assert plan.run_cells(Run('pretrain', 'conmim', 0)) == []
    assert plan.run_cells(Run('features', 'scratch', 1)) == [
        ('scratch', 'linear', 10, 1), ('scratch', 'linear', 'all', 1),
        ('scratch', 'knn', 10, 1), ('scratch', 'knn', 'all', 1)]
    assert plan.run_cells(Run('finetune', 'given', 0, 'all')) == [
        ('given', 'finetune', 'all', 0)]


def test_progress_line():
    run = Run('finetune', 'mae', 2, 100)
    assert str(Progress(7, 29, run, 'test top-1 91.00', 83.6)) == (
        '[7/29] finetune mae seed 2, 100 labels per class: test top-1 91.00 '
        '(84 s)')
