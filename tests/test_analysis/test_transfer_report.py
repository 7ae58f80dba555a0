"""The transfer benchmark's report: mean +- std over seeds, the Markdown
table, the wall times and the plot."""
import matplotlib.image
import pytest

from conmim_mm.analysis.transfer import (Method, Plan, Result, ResultStore,
                                         markdown_table, write_report)
from conmim_mm.analysis.transfer.report import summary, wall_times
from conmim_mm.analysis.transfer.results import Pretraining


@pytest.fixture
def results() -> list:
    """conmim fine-tuned with 10 labels on 3 seeds (70, 80, 90) and with all
    on one (95.5); scratch's kNN with 10 labels on two seeds (40, 41)."""
    rows = [('conmim', 'finetune', 10, seed, top1)
            for seed, top1 in enumerate((70., 80., 90.))]
    rows += [('conmim', 'finetune', 'all', 0, 95.5),
             ('scratch', 'knn', 10, 0, 40.), ('scratch', 'knn', 10, 1, 41.)]
    return [Result(m, p, lpc, s, top1, 'test', top1, 30.) for m, p, lpc, s,
            top1 in rows]


def test_summary_is_mean_std_and_count(results):
    assert summary(results, 'conmim', 'finetune', 10) == (80., 10., 3)
    assert summary(results, 'conmim', 'finetune', 'all') == (95.5, 0., 1)
    mean, std, count = summary(results, 'scratch', 'knn', 10)
    assert (mean, round(std, 4), count) == (40.5, 0.7071, 2)
    assert summary(results, 'scratch', 'finetune', 10) is None


def test_markdown_table(results):
    assert markdown_table(results, ['conmim', 'scratch'], [10, 'all'],
                          ['finetune', 'knn'], 'val').splitlines() == [
        'Top-1 (%) on the val split, mean +- std over seeds (n), by protocol '
        'and labels per class.', '',
        '| method | finetune 10 | finetune all | knn 10 | knn all |',
        '|---|---|---|---|---|',
        '| conmim | 80.0 +- 10.0 (3) | 95.5 +- 0.0 (1) | - | - |',
        '| scratch | - | - | 40.5 +- 0.7 (2) | - |',
    ]


def test_wall_times_by_part(results):
    # 4 fine-tunings and 2 kNN results of 30 s; 9 minutes of pre-training
    assert wall_times(results, 540.) == (
        'Wall time: pre-training 9.0 min; fine-tuning 2.0 min; frozen '
        'features (linear probe and kNN) 1.0 min; in all 12.0 min')


def test_write_report(results, tmp_path):
    plan = Plan({'conmim': Method('conmim', 'ft.py', 'pre.py'),
                 'scratch': Method('scratch', 'ft.py')}, [0, 1, 2],
                [10, 'all'], ['finetune', 'linear', 'knn'])
    store = ResultStore(str(tmp_path), 'test', ['conmim', 'scratch'])
    store.results = results
    for seed, seconds in ((0, 60.), (2, 120.)):
        store.record_pretraining('conmim', seed,
                                 Pretraining('x.pth', seconds, 0.1))
    report = write_report(store, plan)
    assert report.files == [str(tmp_path / name) for name in (
        'results.csv', 'results.md', 'transfer.png')]
    assert (tmp_path / 'results.md').read_text() == report.text + '\n'
    table, times = report.text.split('\n\n', 2)[1:]
    assert table.splitlines()[2] == (
        '| conmim | 80.0 +- 10.0 (3) | 95.5 +- 0.0 (1) | - | - | - | - |')
    assert times.startswith('Wall time: pre-training 3.0 min; ')
    assert len((tmp_path / 'results.csv').read_text().splitlines()) == 7
    image = matplotlib.image.imread(str(tmp_path / 'transfer.png'))
    assert image.shape == (400, 3 * 450, 4)  # a 4.5 x 4 inch panel each
    assert image[..., :3].min() < 0.5  # something drawn on the white
