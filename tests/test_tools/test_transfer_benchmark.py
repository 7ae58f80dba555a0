"""tools/analysis_tools/transfer_benchmark.py end to end, once, on a tiny
budget: ConMIM and a random-init row, 2 pre-training and 2 fine-tuning
iterations, 2 classes of 24 scikit-learn digits upscaled to 28 px. The
library's logic is tested on plain data in tests/test_analysis/test_transfer_*.

The command is run three times on one work dir: on the val split, with the
test images replaced by bytes that are no image (none may be read); again
(every run skipped); and on the test split for ConMIM with the test images
back (its pre-training reused). The dense tasks (--tasks segment,detect)
run twice on another work dir (full_stack): ConMIM on both, then with a
random-init row on segmentation, ConMIM's runs skipped."""
import csv
import json
import re

import numpy as np
import pytest
from PIL import Image

from conftest import run_tool
from conmim_mm.analysis.image_folder_split import (read_image_folder,
                                                   split_samples)

TOOL = 'tools/analysis_tools/transfer_benchmark.py'
VAL_RUN = ['--methods', 'conmim,scratch_vit', '--eval-split', 'val',
           '--seeds', '0', '--labels-per-class', '2,all',
           '--pretrain-iters', '2', '--finetune-iters', '2']
TEST_RUN = ['--methods', 'conmim', '--seeds', '0', '--labels-per-class', '2',
            '--pretrain-iters', '2', '--finetune-iters', '2']
PROGRESS = re.compile(r'^\[(\d+)/(\d+)\] (\w+ \w+ seed 0(?:, \w+ labels per '
                      r'class)?): (.*) \(\d+ s\)$')


def write_digits(root) -> dict:
    """Folders 0 and 1 of 24 grey 28 px PNGs each; returns path -> bytes."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    for digit in (0, 1):
        (root / str(digit)).mkdir(parents=True)
        for i, image in enumerate(digits.images[digits.target == digit][:24]):
            Image.fromarray((image * 255 / 16).astype(np.uint8)).resize(
                (28, 28), Image.BICUBIC).save(
                    root / str(digit) / f'{i:02d}.png')
    return {path: (root / path).read_bytes()
            for path, _ in read_image_folder(str(root))[1]}


def benchmark(folder, work_dir, options: list) -> dict:
    """Run the tool; its progress lines (run -> outcome) and results.csv."""
    result = run_tool([TOOL, '--data', str(folder), '--work-dir',
                       str(work_dir)] + options, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines()
             if line.startswith('[')]
    parsed = [PROGRESS.match(line) for line in lines]
    assert all(parsed), lines
    assert [(int(m.group(1)), int(m.group(2))) for m in parsed] == [
        (i, len(lines)) for i in range(1, len(lines) + 1)]
    with open(work_dir / 'results.csv', newline='') as file:
        rows = list(csv.DictReader(file))
    return dict(stdout=result.stdout, rows=rows,
                runs={m.group(3): m.group(4) for m in parsed},
                md=(work_dir / 'results.md').read_text())


@pytest.fixture(scope='module')
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp('transfer')
    folder, work_dir = root / 'digits', root / 'work'
    images = write_digits(folder)
    test = [path for path, _ in split_samples(
        read_image_folder(str(folder))[1])['test']]
    for path in test:
        (folder / path).write_bytes(b'not an image')
    val = benchmark(folder, work_dir, VAL_RUN)
    again = benchmark(folder, work_dir, VAL_RUN)
    for path in test:
        (folder / path).write_bytes(images[path])
    return dict(val=val, again=again, test=benchmark(folder, work_dir,
                                                     TEST_RUN),
                work_dir=work_dir, num_test=len(test))


def test_val_run_reads_no_test_image_and_scores_on_val(runs):
    val = runs['val']
    assert runs['num_test'] == 10
    assert ('2 classes; train 34, val 4, test 10 (pool = train + val'
            in val['stdout'])
    assert list(val['runs']) == [
        'pretrain conmim seed 0', 'features conmim seed 0',
        'finetune conmim seed 0, 2 labels per class',
        'finetune conmim seed 0, all labels per class',
        'features scratch_vit seed 0',
        'finetune scratch_vit seed 0, 2 labels per class',
        'finetune scratch_vit seed 0, all labels per class']
    assert val['runs']['pretrain conmim seed 0'].startswith('loss ')
    assert re.fullmatch(r'val top-1 \d+\.\d\d', val['runs'][
        'finetune conmim seed 0, 2 labels per class'])
    assert re.fullmatch(
        r'knn 2: [\d.]+, linear 2: [\d.]+, knn all: [\d.]+, linear all: '
        r'[\d.]+', val['runs']['features scratch_vit seed 0'])
    rows = val['rows']
    assert [(r['method'], r['protocol'], r['labels_per_class'])
            for r in rows] == [(m, p, lpc) for m in ('conmim', 'scratch_vit')
                               for p in ('finetune', 'linear', 'knn')
                               for lpc in ('2', 'all')]
    for row in rows:
        assert (row['seed'], row['split']) == ('0', 'val')
        assert row['top1'] == row['val_top1']
        assert float(row['top1']) % 25 == 0  # 4 val images
    assert 'Top-1 (%) on the val split' in val['md']
    (line, ) = [line for line in val['md'].splitlines()
                if line.startswith('| conmim |')]
    top1 = {(r['protocol'], r['labels_per_class']): float(r['top1'])
            for r in rows if r['method'] == 'conmim'}
    assert line.strip('| ').split(' | ')[1:] == [
        f'{top1[p, lpc]:.1f} +- 0.0 (1)' for p in ('finetune', 'linear', 'knn')
        for lpc in ('2', 'all')]
    assert re.search(r'^Wall time: pre-training \d+\.\d min; ', val['md'],
                     re.M)


def test_a_rerun_skips_every_run_and_keeps_the_results(runs):
    again = runs['again']
    assert list(again['runs']) == list(runs['val']['runs'])
    assert set(again['runs'].values()) == {'done before, skipped'}
    assert again['rows'] == runs['val']['rows']
    assert again['md'] == runs['val']['md']


def test_test_run_reuses_the_pretraining_and_keeps_splits_apart(runs):
    test = runs['test']
    assert test['runs'] == {
        'pretrain conmim seed 0': 'done before, skipped',
        'features conmim seed 0': test['runs']['features conmim seed 0'],
        'finetune conmim seed 0, 2 labels per class':
        test['runs']['finetune conmim seed 0, 2 labels per class']}
    assert re.fullmatch(r'test top-1 \d+\.\d\d \(val \d+\.\d\d\)', test[
        'runs']['finetune conmim seed 0, 2 labels per class'])
    assert [(r['protocol'], r['split']) for r in test['rows']] == [
        ('finetune', 'test'), ('linear', 'test'), ('knn', 'test')]
    for row in test['rows']:
        assert float(row['top1']) % 10 == 0  # 10 test images
    assert sorted(p.name for p in (runs['work_dir'] / 'runs').iterdir()) == [
        'test', 'val']
    assert (runs['work_dir'] / 'transfer.png').read_bytes()[:8] == \
        b'\x89PNG\r\n\x1a\n'


# The dense tasks, once, on a tiny budget: ConMIM pre-trained for 2
# iterations, then UperNet and Mask R-CNN fine-tuned for 1 iteration on 2
# scenes and scored on 2 val and 2 test scenes; again with a random-init row
# on segmentation (ConMIM's runs skipped).
DENSE_RUN = ['--tasks', 'segment,detect', '--methods', 'conmim', '--seeds',
             '0', '--train-scenes', '2', '--eval-scenes', '2,2',
             '--pretrain-iters', '2', '--finetune-iters', '1']
DENSE_AGAIN = ['--tasks', 'segment', '--methods', 'conmim,scratch_beit',
               '--seeds', '0', '--train-scenes', '2', '--eval-scenes', '2,2',
               '--pretrain-iters', '2', '--finetune-iters', '1']
DENSE_PROGRESS = re.compile(r'^\[(\d+)/(\d+)\] (\w+ \w+ seed 0(?:, 2 train '
                            r'scenes)?): (.*) \(\d+ s\)$')
#: the checks of a ConMIM run at 64 px from its 32 px pre-training
CONMIM_CHECKS = [
    'lr scales (layer decay {rate}): embeddings {scales}, the rest 1',
    "backbone: 67 of 67 parameter tensors (100 %) loaded from iter_2.pth "
    "under 'teacher.backbone.'",
    'relative position tables: 4 resized from the 4x4 grid (52 rows) to the '
    '8x8 grid (228 rows)'
]
SCALES = {
    'segment': ('0.65', '0.116, layers.0 0.1785, layers.1 0.2746, layers.2 '
                '0.4225, layers.3 0.65'),
    'detect': ('0.7', '0.1681, layers.0 0.2401, layers.1 0.343, layers.2 '
               '0.49, layers.3 0.7'),
}


def dense_benchmark(folder, work_dir, options: list) -> dict:
    """Run the tool; its runs (run -> outcome), each run's check lines and
    dense_results.csv."""
    result = run_tool([TOOL, '--data', str(folder), '--work-dir',
                       str(work_dir)] + options, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    runs, checks = {}, {}
    for line in result.stdout.splitlines():
        if line.startswith('['):
            match = DENSE_PROGRESS.match(line)
            assert match, line
            run = match.group(3)
            runs[run], checks[run] = match.group(4), []
        elif line.startswith('    check: '):
            checks[run].append(line[len('    check: '):])
    with open(work_dir / 'dense_results.csv', newline='') as file:
        rows = list(csv.reader(file))
    return dict(runs=runs, checks=checks, rows=rows,
                md=(work_dir / 'dense_results.md').read_text())


@pytest.mark.full_stack
def test_dense_tasks_run_checked_and_resume(tmp_path):
    folder, work_dir = tmp_path / 'digits', tmp_path / 'work'
    write_digits(folder)
    first = dense_benchmark(folder, work_dir, DENSE_RUN)
    assert list(first['runs']) == [
        'pretrain conmim seed 0', 'segment conmim seed 0, 2 train scenes',
        'detect conmim seed 0, 2 train scenes']
    assert re.fullmatch(r'test mIoU \d+\.\d\d \(val mIoU \d+\.\d\d\)',
                        first['runs']['segment conmim seed 0, 2 train scenes'])
    assert re.fullmatch(
        r'test bbox_mAP \d+\.\d\d, segm_mAP \d+\.\d\d \(val bbox_mAP '
        r'\d+\.\d\d, segm_mAP \d+\.\d\d\)',
        first['runs']['detect conmim seed 0, 2 train scenes'])
    for task, (rate, scales) in SCALES.items():
        run = f'{task} conmim seed 0, 2 train scenes'
        norms, *rest = first['checks'][run]
        assert re.fullmatch(r'batch norms: \d+, no SyncBN \(1 process\)',
                            norms)
        assert rest == [CONMIM_CHECKS[0].format(rate=rate, scales=scales)
                        ] + CONMIM_CHECKS[1:]
    assert first['rows'][0] == ['method', 'task', 'metric', 'train_scenes',
                                'seed', 'value']
    assert [row[:5] for row in first['rows'][1:]] == [
        ['conmim', 'segment', 'mIoU', '2', '0'],
        ['conmim', 'detect', 'bbox_mAP', '2', '0'],
        ['conmim', 'detect', 'segm_mAP', '2', '0']]
    for row in first['rows'][1:]:
        assert 0 <= float(row[5]) <= 100
    assert '| conmim | ' in first['md']
    assert re.search(r'^Wall time: pre-training \(shared with '
                     r'classification\) \d+\.\d min; segment \d+\.\d min; '
                     r'detect \d+\.\d min', first['md'], re.M)
    assert sorted(p.name for p in (work_dir / 'scenes' / 'img_dir').iterdir()
                  ) == ['test', 'train', 'val']
    # the predictions of the 2 test scenes, and their picture
    runs = work_dir / 'dense_runs' / 'test' / 'conmim' / 'seed0'
    segment = json.loads((runs / 'segment_2.json').read_text())
    assert [len(p['semantic']) for p in segment['predictions']] == [64, 64]
    detect = json.loads((runs / 'detect_2.json').read_text())
    assert len(detect['predictions']) == 2
    assert all(len(box) == 6 and box[5] >= 0.3
               for p in detect['predictions'] for box in p['boxes'])
    assert (work_dir / 'dense.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

    again = dense_benchmark(folder, work_dir, DENSE_AGAIN)
    skipped = 'done before, skipped'
    assert again['runs'] == {
        'pretrain conmim seed 0': skipped,
        'segment conmim seed 0, 2 train scenes': skipped,
        'segment scratch_beit seed 0, 2 train scenes':
        again['runs']['segment scratch_beit seed 0, 2 train scenes']}
    assert again['checks']['segment conmim seed 0, 2 train scenes'] == []
    scratch = again['checks']['segment scratch_beit seed 0, 2 train scenes']
    assert scratch[1:] == [
        CONMIM_CHECKS[0].format(rate='0.65', scales=SCALES['segment'][1]),
        'backbone: random initialisation (no Pretrained init_cfg)']
    # the report keeps the first command's detection of conmim
    assert [row[:3] for row in again['rows'][1:]] == [
        ['conmim', 'segment', 'mIoU'], ['conmim', 'detect', 'bbox_mAP'],
        ['conmim', 'detect', 'segm_mAP'], ['scratch_beit', 'segment', 'mIoU']]
    assert again['rows'][2:4] == first['rows'][2:4]
    assert again['rows'][1] == first['rows'][1]  # kept, not run again
