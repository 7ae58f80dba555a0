"""tools/analysis_tools/transfer_benchmark.py end to end on a tiny budget: all
8 built-in methods, 2 pre-training and 2 fine-tuning iterations, on 2
classes of 24 scikit-learn digits (0 and 1) upscaled to 28 px. One run (a
few minutes on 2 CPU cores) serves most tests; a rerun skips every run."""
import csv
import io
import os
import re

import numpy as np
import pytest
from PIL import Image

from conftest import run_tool
from conmim_mm.analysis.image_folder_split import (read_image_folder,
                                                   split_samples)

TOOL = 'tools/analysis_tools/transfer_benchmark.py'
METHODS = ['conmim', 'conmim_abs', 'mae', 'maskfeat', 'mocov3',
           'scratch_beit', 'scratch_beit_abs', 'scratch_vit']
PRETRAINED = METHODS[:5]
PROTOCOLS = ['finetune', 'linear', 'knn']
LPCS = ['2', 'all']
# per method: a pre-training (5 methods), the frozen features, 2 fine-tunings
NUM_RUNS = 5 + 8 + 8 * 2
BUDGET = ['--seeds', '0', '--labels-per-class', '2,all', '--pretrain-iters',
          '2', '--finetune-iters', '2']
PROGRESS = re.compile(r'^\[(\d+)/(\d+)\] (pretrain|features|finetune) '
                      r'(\w+) seed 0(, (2|all) labels per class)?: (.*) '
                      r'\(\d+ s\)$')


@pytest.fixture(scope='module')
def digits(tmp_path_factory) -> str:
    """Folders 0 and 1 of 24 grey 28 px PNGs each."""
    from sklearn.datasets import load_digits
    root = tmp_path_factory.mktemp('digits')
    data = load_digits()
    for digit in (0, 1):
        (root / str(digit)).mkdir()
        for i, image in enumerate(data.images[data.target == digit][:24]):
            Image.fromarray((image * 255 / 16).astype(np.uint8)).resize(
                (28, 28), Image.BICUBIC).save(root / str(digit) / f'{i:02d}.png')
    return str(root)


def read_outputs(work_dir) -> dict:
    with open(work_dir / 'results.csv', newline='') as file:
        csv_text = file.read()
    return dict(csv_text=csv_text,
                rows=list(csv.DictReader(io.StringIO(csv_text))),
                md=(work_dir / 'results.md').read_text(),
                png=(work_dir / 'transfer.png').read_bytes())


def progress_lines(stdout: str) -> list:
    return [line for line in stdout.splitlines() if line.startswith('[')]


@pytest.fixture(scope='module')
def first(digits, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('benchmark')
    result = run_tool([TOOL, '--data', digits, '--work-dir', str(work_dir)] +
                      BUDGET, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(read_outputs(work_dir), stdout=result.stdout,
                work_dir=work_dir)


@pytest.fixture(scope='module')
def rerun(first, digits):
    result = run_tool([TOOL, '--data', digits, '--work-dir',
                       str(first['work_dir'])] + BUDGET, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(read_outputs(first['work_dir']), stdout=result.stdout)


def test_one_progress_line_per_run(first):
    assert ('2 classes; train 34, val 4, test 10 (pool = train + val'
            in first['stdout'])
    lines = progress_lines(first['stdout'])
    assert len(lines) == NUM_RUNS
    parsed = [PROGRESS.match(line) for line in lines]
    assert all(parsed), lines
    assert [int(m.group(1)) for m in parsed] == list(range(1, NUM_RUNS + 1))
    assert {int(m.group(2)) for m in parsed} == {NUM_RUNS}
    runs = [(m.group(3), m.group(4), m.group(6)) for m in parsed]
    assert len(set(runs)) == NUM_RUNS
    expected = set()
    for method in METHODS:
        if method in PRETRAINED:
            expected.add(('pretrain', method, None))
        expected.add(('features', method, None))
        expected |= {('finetune', method, lpc) for lpc in LPCS}
    assert set(runs) == expected
    # every pre-training before the features and fine-tuning of its method
    for method in PRETRAINED:
        assert runs.index(('pretrain', method, None)) < runs.index(
            ('features', method, None))


def test_results_csv_has_one_row_per_method_protocol_and_subset(first):
    rows = first['rows']
    assert {'method', 'protocol', 'labels_per_class', 'seed', 'top1',
            'split'} <= set(rows[0])
    keys = [(r['method'], r['protocol'], r['labels_per_class'])
            for r in rows]
    assert len(rows) == 8 * 3 * 2
    assert sorted(keys) == sorted(
        (m, p, lpc) for m in METHODS for p in PROTOCOLS for lpc in LPCS)
    assert {r['seed'] for r in rows} == {'0'}
    assert {r['split'] for r in rows} == {'test'}
    for row in rows:
        assert 0. <= float(row['top1']) <= 100.
        assert 0. <= float(row['val_top1']) <= 100.
        # 10 test images: a multiple of 10%
        assert float(row['top1']) % 10 == 0


def test_results_md_has_a_row_per_method_with_every_cell(first):
    lines = first['md'].splitlines()
    header = ('| method | finetune 2 | finetune all | linear 2 | '
              'linear all | knn 2 | knn all |')
    assert header in lines
    top1 = {(r['method'], r['protocol'], r['labels_per_class']):
            float(r['top1']) for r in first['rows']}
    for method in METHODS:
        (line, ) = [row for row in lines if row.startswith(f'| {method} |')]
        cells = [cell.strip() for cell in line.strip('|').split('|')]
        assert len(cells) == 7 and cells[0] == method
        for cell, (protocol, lpc) in zip(
                cells[1:], [(p, lpc) for p in PROTOCOLS for lpc in LPCS]):
            match = re.fullmatch(r'(\d+\.\d) \+- 0\.0 \(1\)', cell)
            assert match, cell
            assert float(match.group(1)) == top1[method, protocol, lpc]
    assert re.search(r'^Wall time: pre-training \d+\.\d min; ', first['md'],
                     re.M)


def test_transfer_png_is_a_png_image(first):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.image
    png = first['png']
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    image = matplotlib.image.imread(io.BytesIO(png), format='png')
    # one 4.5 x 4 inch panel per protocol at 100 dpi
    assert image.shape == (400, 1350, 4)
    assert image[..., :3].min() < 0.5  # something drawn on the white


def test_a_rerun_skips_every_run_and_keeps_the_results(first, rerun):
    lines = progress_lines(rerun['stdout'])
    assert len(lines) == NUM_RUNS
    assert all(line.endswith(': done before, skipped (0 s)')
               for line in lines), lines
    assert rerun['csv_text'] == first['csv_text']
    table, times = first['md'].split('\n\nWall time: ')
    rerun_table, rerun_times = rerun['md'].split('\n\nWall time: ')
    assert rerun_table == table
    assert rerun_times == times


def test_eval_split_val_records_val(digits, tmp_path):
    result = run_tool([TOOL, '--data', digits, '--work-dir', str(tmp_path),
                       '--methods', 'scratch_vit', '--eval-split', 'val',
                       '--seeds', '0', '--labels-per-class', '2',
                       '--finetune-iters', '2'], timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(progress_lines(result.stdout)) == 2
    assert 'Top-1 (%) on the val split' in result.stdout
    rows = read_outputs(tmp_path)['rows']
    assert sorted(r['protocol'] for r in rows) == sorted(PROTOCOLS)
    assert {r['split'] for r in rows} == {'val'}
    for row in rows:  # the score is the validation score
        assert row['top1'] == row['val_top1']
    assert sorted(os.listdir(tmp_path / 'runs')) == ['val']

    # continued with one more subset: only what is missing runs
    result = run_tool([TOOL, '--data', digits, '--work-dir', str(tmp_path),
                       '--methods', 'scratch_vit', '--eval-split', 'val',
                       '--seeds', '0', '--labels-per-class', '2,3',
                       '--finetune-iters', '2'], timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = progress_lines(result.stdout)
    skipped = [line for line in lines if 'done before, skipped' in line]
    assert len(lines) == 3 and len(skipped) == 1, lines
    assert 'finetune scratch_vit seed 0, 2 labels per class' in skipped[0]
    cells = sorted((r['protocol'], r['labels_per_class'])
                   for r in read_outputs(tmp_path)['rows'])
    assert cells == sorted((p, lpc) for p in PROTOCOLS for lpc in ('2', '3'))


def test_eval_split_val_fine_tuning_never_reads_the_test_split(digits,
                                                              tmp_path):
    """The test images of a copy of the folder are not images at all: no
    protocol scored on val may open one."""
    folder = tmp_path / 'digits'
    _, samples = read_image_folder(digits)
    test = set(path for path, _ in split_samples(samples)['test'])
    assert len(test) == 10
    for path, _ in samples:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(
            b'not an image' if path in test else
            open(os.path.join(digits, path), 'rb').read())
    work_dir = tmp_path / 'work'
    result = run_tool([TOOL, '--data', str(folder), '--work-dir',
                       str(work_dir), '--methods', 'scratch_vit',
                       '--eval-split', 'val', '--seeds', '0',
                       '--labels-per-class', '2', '--finetune-iters', '2'],
                      timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = read_outputs(work_dir)['rows']
    assert sorted((r['protocol'], r['split']) for r in rows) == sorted(
        (protocol, 'val') for protocol in PROTOCOLS)


def test_an_unknown_method_is_one_error_line(digits, tmp_path):
    work_dir = tmp_path / 'work'
    result = run_tool([TOOL, '--data', digits, '--work-dir', str(work_dir),
                       '--methods', 'conmim,nope'], timeout=300)
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(
        "error: --methods: unknown method 'nope'; known: conmim, "
        'conmim_abs, mae, maskfeat, mocov3, scratch_beit, scratch_beit_abs, '
        'scratch_vit')
    assert [line for line in lines if line.startswith('error:')] == [lines[-1]]
    assert not work_dir.exists()
