"""The dense tasks' results: one file per run, kept per split and read back
by a later command (which then skips the run), dense_results.csv with its
fixed columns, the evaluators' metrics in percent, and the report (mean +-
std over seeds, wall time per part, the picture of predictions)."""
import csv
import json
import os
import os.path as osp
from dataclasses import replace

import matplotlib.image
import numpy as np
import pytest
from PIL import Image

from conmim_mm.analysis.transfer import (DenseCell, DensePlan, DenseResult,
                                         DenseStore, Method, ResultStore,
                                         SceneFolder, write_dense_report)
from conmim_mm.analysis.transfer.dense_picture import (decode_map,
                                                       encode_map, plot_dense)
from conmim_mm.analysis.transfer.dense_report import (dense_summary,
                                                      dense_table,
                                                      dense_wall_times)
from conmim_mm.analysis.transfer.dense_running import task_metrics
from conmim_mm.analysis.transfer.results import Pretraining


def result(method='conmim', task='segment', scenes=100, seed=0, value=50.,
           split='test') -> DenseResult:
    metrics = ({'mIoU': value} if task == 'segment' else
               {'bbox_mAP': value, 'segm_mAP': value / 2})
    return DenseResult(method, task, scenes, seed, split, metrics,
                       {k: v - 1 for k, v in metrics.items()}, 60.,
                       ['batch norms: 1, no SyncBN (1 process)'])


@pytest.fixture
def plan() -> DensePlan:
    return DensePlan({'conmim': Method('conmim', 'finetune_beit.py', 'c.py'),
                      'scratch_beit': Method('scratch_beit',
                                             'finetune_beit.py')},
                     [0, 1], ['segment', 'detect'], [100, 1000])


@pytest.fixture
def store(tmp_path, plan) -> DenseStore:
    return DenseStore(str(tmp_path), 'test', list(plan.methods))


def read_csv(path) -> list:
    with open(path, newline='') as file:
        return list(csv.DictReader(file))


def test_a_result_is_read_back_and_its_run_skipped(store, plan, tmp_path):
    kept = [result(), result('scratch_beit', 'detect', 1000, 1, 12.345)]
    cell = DenseCell('scratch_beit', 'detect', 1000, 1)
    assert not store.is_done(cell)
    for each in kept:
        store.record(each)
    assert store.is_done(cell)
    later = DenseStore(str(tmp_path), 'test', list(plan.methods))
    later.load()
    assert later.results == kept
    assert (tmp_path / 'dense_runs' / 'test' / 'scratch_beit' / 'seed1' /
            'detect_1000.json').is_file()
    on_val = DenseStore(str(tmp_path), 'val', list(plan.methods))
    on_val.load()
    assert on_val.results == [] and not on_val.is_done(cell)


def test_the_report_keeps_a_budget_an_earlier_command_ran(plan, tmp_path):
    """A larger budget run for one seed and one task by an earlier command
    keeps its column when a later command runs the smaller budget."""
    earlier = DenseStore(str(tmp_path), 'test', list(plan.methods))
    earlier.record(result('conmim', 'segment', 1000, 0, 70.))
    small = DensePlan(plan.methods, [0, 1], ['detect'], [100])
    later = DenseStore(str(tmp_path), 'test', list(plan.methods))
    later.load()
    for seed in (0, 1):
        later.record(result('conmim', 'detect', 100, seed, 10. + seed))
    report = write_dense_report(later, ResultStore(str(tmp_path), 'test',
                                                   []), small)
    assert report.text.splitlines()[2:5] == [
        '| method | mIoU 100 | mIoU 1000 | bbox_mAP 100 | bbox_mAP 1000 | '
        'segm_mAP 100 | segm_mAP 1000 |',
        '|---|---|---|---|---|---|---|',
        '| conmim | - | 70.0 +- 0.0 (1) | 10.5 +- 0.7 (2) | - | '
        '5.2 +- 0.4 (2) | - |']
    assert [row['train_scenes'] for row in read_csv(later.csv_path)] == [
        '1000', '100', '100', '100', '100']


def test_the_csv_has_a_row_per_metric_in_percent(store):
    for each in (result('scratch_beit', 'segment', 100, 0, 40.),
                 result('conmim', 'detect', 1000, 1, 12.345),
                 result('conmim', 'segment', 100, 1, 55.5),
                 result('conmim', 'segment', 100, 0, 50.)):
        store.record(each)
    rows = read_csv(store.csv_path)
    assert list(rows[0]) == ['method', 'task', 'metric', 'train_scenes',
                             'seed', 'value']
    assert [tuple(row.values()) for row in rows] == [
        ('conmim', 'segment', 'mIoU', '100', '0', '50.00'),
        ('conmim', 'segment', 'mIoU', '100', '1', '55.50'),
        ('conmim', 'detect', 'bbox_mAP', '1000', '1', '12.35'),
        ('conmim', 'detect', 'segm_mAP', '1000', '1', '6.17'),
        ('scratch_beit', 'segment', 'mIoU', '100', '0', '40.00'),
    ]
    store.record(result('conmim', 'segment', 100, 0, 20.))  # replaced
    assert read_csv(store.csv_path)[0]['value'] == '20.00'
    assert len(store.results) == 4


def test_metrics_are_in_percent():
    assert task_metrics('segment', {'mIoU': 43.21, 'aAcc': 90.}) == {
        'mIoU': 43.21}
    assert task_metrics('detect', {
        'coco/bbox_mAP': 0.123, 'coco/segm_mAP': 0.05,
        'coco/bbox_mAP_50': 0.3
    }) == {'bbox_mAP': pytest.approx(12.3), 'segm_mAP': pytest.approx(5.)}


@pytest.fixture
def results() -> list:
    """conmim's mIoU with 100 scenes on 3 seeds (40, 50, 60), scratch's on
    one (30); conmim's detection with 1000 scenes on one seed (20, 10)."""
    return [result('conmim', 'segment', 100, s, v)
            for s, v in enumerate((40., 50., 60.))] + [
                result('scratch_beit', 'segment', 100, 0, 30.),
                result('conmim', 'detect', 1000, 0, 20.)]


def test_summary_and_table(results):
    assert dense_summary(results, 'conmim', 'segment', 'mIoU', 100) == (
        50., 10., 3)
    assert dense_summary(results, 'conmim', 'segment', 'mIoU', 1000) is None
    table = dense_table(results, ['conmim', 'scratch_beit'],
                        ['segment', 'detect'], [100, 1000], 'test')
    assert table == '\n'.join([
        'Metrics (%) on the test scenes, mean +- std over seeds (n), by '
        'task metric and number of train scenes.', '',
        '| method | mIoU 100 | mIoU 1000 | bbox_mAP 100 | bbox_mAP 1000 | '
        'segm_mAP 100 | segm_mAP 1000 |',
        '|---|---|---|---|---|---|---|',
        '| conmim | 50.0 +- 10.0 (3) | - | - | 20.0 +- 0.0 (1) | - | '
        '10.0 +- 0.0 (1) |',
        '| scratch_beit | 30.0 +- 0.0 (1) | - | - | - | - | - |'])


def test_wall_times_per_part(results):
    assert dense_wall_times(results, ['segment', 'detect'], 600.) == (
        'Wall time: pre-training (shared with classification) 10.0 min; '
        'segment 4.0 min; detect 1.0 min; dense tasks in all 5.0 min')


def test_the_report_files(store, plan, results, tmp_path):
    for each in results:
        store.record(each)
    pretrainings = ResultStore(str(tmp_path), 'test', list(plan.methods))
    pretrainings.record_pretraining('conmim', 0,
                                    Pretraining('/w/i.pth', 120., 0.5))
    report = write_dense_report(store, pretrainings, plan)
    assert report.files == [str(tmp_path / 'dense_results.csv'),
                            str(tmp_path / 'dense_results.md')]
    assert (tmp_path / 'dense_results.md').read_text() == report.text + '\n'
    assert report.text.endswith(
        'Wall time: pre-training (shared with classification) 2.0 min; '
        'segment 4.0 min; detect 1.0 min; dense tasks in all 5.0 min')
    assert str(report).endswith(
        f'\nwrote {tmp_path}/dense_results.csv and '
        f'{tmp_path}/dense_results.md')


def test_semantic_maps_round_trip_as_text():
    semantic = np.array([[0, 9, 10], [10, 3, 1]], dtype=np.uint8)
    assert encode_map(semantic) == ['09a', 'a31']
    assert np.array_equal(decode_map(encode_map(semantic)), semantic)


def _one_scene(root) -> SceneFolder:
    """One 64 px test scene: a digit 3 (ink in rows 10-29, columns 20-39)
    with its semantic map and COCO box."""
    scenes = SceneFolder(str(root), dict(test=1))
    for folder in (scenes.img_dir('test'), scenes.ann_dir('test'),
                   osp.dirname(scenes.ann_file('test'))):
        os.makedirs(folder)
    image = np.zeros((64, 64), np.uint8)
    image[10:30, 20:40] = 255
    Image.fromarray(np.repeat(image[..., None], 3, 2)).save(
        osp.join(scenes.img_dir('test'), '00000.png'))
    Image.fromarray(np.where(image > 0, 3, 10).astype(np.uint8)).save(
        osp.join(scenes.ann_dir('test'), '00000.png'))
    with open(scenes.ann_file('test'), 'w') as file:
        json.dump(dict(images=[dict(id=1, file_name='00000.png', width=64,
                                    height=64)],
                       annotations=[dict(id=1, image_id=1, category_id=4,
                                         bbox=[20, 10, 20, 20])]), file)
    return scenes


def test_the_picture_of_predictions(tmp_path, plan):
    scenes = _one_scene(tmp_path / 'scenes')
    predicted = np.full((64, 64), 10, np.uint8)
    predicted[12:28, 22:38] = 3
    shown = [
        replace(result('conmim', 'segment', 100, 0),
                predictions=[dict(semantic=encode_map(predicted))]),
        replace(result('conmim', 'detect', 100, 0),
                predictions=[dict(boxes=[[21., 11., 39., 29., 3, 0.9]])]),
        replace(result('scratch_beit', 'segment', 1000, 0),  # not shown
                predictions=[dict(semantic=encode_map(predicted))]),
    ]
    path = str(tmp_path / 'dense.png')
    plot_dense(shown, list(plan.methods), scenes, 'test', 100, 0, path)
    picture = matplotlib.image.imread(path)
    # ground truth, conmim and scratch_beit rows of one 1.6-inch panel
    assert picture.shape[:2] == (480, 160)
    store = DenseStore(str(tmp_path), 'test', list(plan.methods))
    for each in shown:
        store.record(each)
    report = write_dense_report(store, ResultStore(str(tmp_path), 'test',
                                                   []), plan, scenes)
    assert report.files[-1] == str(tmp_path / 'dense.png')
    assert matplotlib.image.imread(report.files[-1]).shape[:2] == (480, 160)
