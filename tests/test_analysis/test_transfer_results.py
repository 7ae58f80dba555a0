"""The transfer benchmark's result storage: one file per cell, kept per
split, read back by a later command (which then skips the finished runs),
and results.csv."""
import csv

import pytest

from conmim_mm.analysis.transfer import Method, Plan, Result, ResultStore, Run
from conmim_mm.analysis.transfer.results import Pretraining


def result(method='conmim', protocol='finetune', lpc=10, seed=0, top1=90.,
           split='test') -> Result:
    return Result(method, protocol, lpc, seed, top1, split, val_top1=top1 - 1,
                  seconds=12.5)


@pytest.fixture
def plan() -> Plan:
    return Plan({'conmim': Method('conmim', 'ft.py', 'pre.py'),
                 'scratch': Method('scratch', 'ft.py')}, [0], [10, 'all'],
                ['finetune', 'linear', 'knn'])


@pytest.fixture
def store(tmp_path, plan) -> ResultStore:
    return ResultStore(str(tmp_path), 'test', list(plan.methods))


def read_csv(path) -> list:
    with open(path, newline='') as file:
        return list(csv.DictReader(file))


def test_a_result_is_read_back_by_a_later_command(store, plan, tmp_path):
    kept = [result(), result('scratch', 'knn', 'all', top1=55.25)]
    for each in kept:
        store.record(each)
    later = ResultStore(str(tmp_path), 'test', list(plan.methods))
    later.load(plan.cells())
    assert later.results == kept
    assert (tmp_path / 'runs' / 'test' / 'scratch' / 'seed0' /
            'knn_all.json').is_file()


def test_results_of_another_split_are_apart(store, plan, tmp_path):
    store.record(result())
    on_val = ResultStore(str(tmp_path), 'val', list(plan.methods))
    on_val.load(plan.cells())
    assert on_val.results == []
    assert not on_val.is_done(Run('finetune', 'conmim', 0, 10), plan)
    assert store.is_done(Run('finetune', 'conmim', 0, 10), plan)


def test_a_run_is_done_when_all_its_cells_are(store, plan):
    assert not store.is_done(Run('finetune', 'scratch', 0, 10), plan)
    features = Run('features', 'scratch', 0)
    frozen = [result('scratch', protocol, lpc) for protocol in ('linear',
                                                                'knn')
              for lpc in (10, 'all')]
    for each in frozen[:-1]:
        store.record(each)
        assert not store.is_done(features, plan)
    store.record(frozen[-1])
    assert store.is_done(features, plan)
    # a plan with one more subset has more to do
    bigger = Plan(plan.methods, [0], [10, 50, 'all'], plan.protocols)
    assert not store.is_done(features, bigger)


def test_a_pretraining_is_done_with_its_record(store, plan):
    run = Run('pretrain', 'conmim', 0)
    assert not store.is_done(run, plan)
    assert store.pretraining('conmim', 0) is None
    done = Pretraining('/w/iter_1200.pth', 300.5, 0.25)
    store.record_pretraining('conmim', 0, done)
    assert store.is_done(run, plan)
    assert store.pretraining('conmim', 0) == done
    assert not store.is_done(Run('pretrain', 'conmim', 1), plan)


def test_a_new_result_replaces_that_of_its_cell(store):
    store.record(result(top1=50.))
    store.record(result(lpc='all', top1=60.))
    store.record(result(top1=70.))
    assert sorted((r.labels_per_class == 'all', r.top1)
                  for r in store.results) == [(False, 70.), (True, 60.)]
    assert [row['top1'] for row in read_csv(store.csv_path)] == ['70.00',
                                                                 '60.00']


def test_results_csv_goes_by_method_protocol_subset_and_seed(store):
    for each in [result('scratch', 'knn', 10), result('conmim', 'knn', 'all'),
                 result('conmim', 'knn', 10, seed=1),
                 result('conmim', 'knn', 10, seed=0),
                 result('conmim', 'linear', 100, top1=1 / 3),
                 result('conmim', 'finetune', 'all')]:
        store.record(each)
    rows = read_csv(store.csv_path)
    assert list(rows[0]) == ['method', 'protocol', 'labels_per_class', 'seed',
                             'top1', 'split', 'val_top1', 'seconds']
    assert [(r['method'], r['protocol'], r['labels_per_class'], r['seed'])
            for r in rows] == [
        ('conmim', 'finetune', 'all', '0'), ('conmim', 'linear', '100', '0'),
        ('conmim', 'knn', '10', '0'), ('conmim', 'knn', '10', '1'),
        ('conmim', 'knn', 'all', '0'), ('scratch', 'knn', '10', '0')]
    assert rows[1] == dict(method='conmim', protocol='linear',
                           labels_per_class='100', seed='0', top1='0.33',
                           split='test', val_top1='-0.67', seconds='12.50')
