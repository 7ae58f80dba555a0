"""tools/train.py, tools/test.py, tools/dist_train.sh and the converter, run
as a user runs them, on a tiny mmpretrain classifier (CPU)."""
import os
import os.path as osp
import random

import pytest
import torch

from conftest import CONFIGS, data_options, run_tool
from conmim_mm.checkpoint import load_checkpoint_file

TINY = osp.join(CONFIGS, 'tiny_cls.py')


def _assert_ok(result):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def _train(work_dir, folder, *extra):
    result = run_tool(['tools/train.py', TINY, '--work-dir', str(work_dir),
                       '--cfg-options', *data_options(folder), *extra])
    _assert_ok(result)
    return result


def _assert_same_tensors(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key


@pytest.fixture(scope='module')
def full_run(tmp_path_factory, image_folder):
    work_dir = tmp_path_factory.mktemp('full')
    _train(work_dir, image_folder)
    return work_dir


def test_train_writes_weights_only_checkpoints(full_run):
    for it in (2, 4):
        # plain torch, no allow-list: only tensors and plain data inside
        checkpoint = torch.load(
            str(full_run / f'iter_{it}.pth'), weights_only=True)
        assert checkpoint['meta']['iter'] == it
        assert {'meta', 'state_dict', 'message_hub', 'optimizer',
                'param_schedulers'} <= set(checkpoint)
    assert (full_run / 'last_checkpoint').read_text().strip().endswith(
        'iter_4.pth')


def test_resume_continues_at_the_same_iteration(full_run, image_folder,
                                                tmp_path):
    start = full_run / 'iter_2.pth'
    result = _train(tmp_path, image_folder, '--resume', str(start))
    assert 'resumed epoch: 0, iter: 2' in result.stdout + result.stderr
    assert not (tmp_path / 'iter_2.pth').exists()  # started after iter 2
    resumed = load_checkpoint_file(str(tmp_path / 'iter_4.pth'))
    reference = load_checkpoint_file(str(full_run / 'iter_4.pth'))
    assert resumed['meta']['iter'] == 4
    _assert_same_tensors(resumed['state_dict'], reference['state_dict'])
    for key, state in reference['optimizer']['state'].items():
        _assert_same_tensors(resumed['optimizer']['state'][key], state)
    initial = load_checkpoint_file(str(start))['state_dict']
    assert not torch.equal(initial['head.fc.weight'],
                           resumed['state_dict']['head.fc.weight'])


def test_resume_auto_finds_last_checkpoint(full_run, image_folder, tmp_path):
    for name in ('iter_2.pth', 'last_checkpoint'):
        text = (full_run / name).read_bytes()
        (tmp_path / name).write_bytes(
            text if name.endswith('.pth') else
            str(tmp_path / 'iter_2.pth').encode())
    _train(tmp_path, image_folder, '--resume')
    assert load_checkpoint_file(str(tmp_path / 'iter_4.pth'))['meta'][
        'iter'] == 4


def test_test_tool_evaluates_checkpoint(full_run, image_folder, tmp_path):
    result = run_tool([
        'tools/test.py', TINY, str(full_run / 'iter_4.pth'), '--work-dir',
        str(tmp_path), '--cfg-options', *data_options(image_folder)
    ])
    _assert_ok(result)
    assert 'accuracy/top1' in result.stdout + result.stderr


@pytest.fixture
def payload_checkpoint(tmp_path):
    marker = tmp_path / 'payload_ran'
    path = tmp_path / 'payload.pth'

    class Payload:

        def __reduce__(self):
            return os.mkdir, (str(marker), )

    torch.save({'state_dict': {}, 'meta': Payload()}, str(path))
    return path, marker


@pytest.mark.parametrize(
    'tool', ['train', 'test', 'convert', 'official', 'from_official',
             'export', 'attention'])
def test_tools_refuse_pickled_payload(tool, payload_checkpoint, image_folder,
                                      tmp_path):
    path, marker = payload_checkpoint
    args = {
        'train': ['tools/train.py', TINY, '--resume', str(path)],
        'test': ['tools/test.py', TINY, str(path)],
        'convert': ['tools/model_converters/safe_checkpoint.py', str(path),
                    str(tmp_path / 'out.pth')],
        'official': ['tools/model_converters/conmim2official.py', str(path),
                     str(tmp_path / 'out')],
        'from_official': ['tools/model_converters/official2conmim.py',
                          str(path), str(tmp_path / 'out.pth')],
        'export': ['tools/model_converters/extract_backbone.py', str(path),
                   str(tmp_path / 'out.pth')],
        'attention': ['tools/analysis_tools/visualize_attention.py', TINY,
                      str(path), str(path), '--out', str(tmp_path / 'out')],
    }[tool]
    if tool in ('train', 'test'):
        args += ['--work-dir', str(tmp_path / 'work'), '--cfg-options',
                 *data_options(image_folder)]
    result = run_tool(args)
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: refusing to ')
    assert 'posix.mkdir' in last
    assert not marker.exists()


def test_missing_config_is_one_line_error():
    result = run_tool(['tools/train.py', 'configs/nope.py'])
    assert result.returncode == 1
    assert result.stderr.strip() == 'error: config file configs/nope.py ' \
        'does not exist'


def test_dist_train_two_cpu_processes_end_identical(image_folder, tmp_path):
    config = osp.join(CONFIGS, 'tiny_cls_rank_dump.py')
    result = run_tool([
        'tools/dist_train.sh', config, '2', '--work-dir',
        str(tmp_path), '--cfg-options', *data_options(image_folder)
    ], PORT=str(random.randint(20000, 40000)))
    _assert_ok(result)
    rank0 = torch.load(str(tmp_path / 'rank0.pth'), weights_only=True)
    rank1 = torch.load(str(tmp_path / 'rank1.pth'), weights_only=True)
    _assert_same_tensors(rank0, rank1)
    final = load_checkpoint_file(str(tmp_path / 'iter_4.pth'))
    assert final['meta']['iter'] == 4
    _assert_same_tensors(final['state_dict'], rank0)
    assert 'Distributed launcher: pytorch' in result.stdout + result.stderr


@pytest.fixture(scope='module')
def seg_folder(tmp_path_factory):
    """4 images with bright/dark halves and their 0/1 label maps."""
    import cv2
    import numpy as np
    root = tmp_path_factory.mktemp('seg')
    (root / 'img').mkdir()
    (root / 'ann').mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        label = np.zeros((32, 32), np.uint8)
        label[:, 16 * (i % 2):16 * (i % 2) + 16] = 1
        image = rng.integers(0, 60, (32, 32, 3)).astype(np.uint8)
        image[label == 1] += 180
        cv2.imwrite(str(root / 'img' / f'{i}.png'), image)
        cv2.imwrite(str(root / 'ann' / f'{i}.png'), label)
    return str(root)


def _train_then_test(config: str, options: list, work_dir, metric: str):
    """tools/train.py for 2 iterations, then tools/test.py on iter_2.pth."""
    options = ['--cfg-options', *options]
    _assert_ok(run_tool(['tools/train.py', config, '--work-dir',
                         str(work_dir), *options]))
    checkpoint = torch.load(str(work_dir / 'iter_2.pth'), weights_only=True)
    assert checkpoint['meta']['iter'] == 2
    result = run_tool(['tools/test.py', config, str(work_dir / 'iter_2.pth'),
                       '--work-dir', str(work_dir), *options])
    _assert_ok(result)
    assert metric in result.stdout + result.stderr


def test_tools_run_mmseg_configs(seg_folder, tmp_path):
    """The same tools train and test a config of the mmseg scope."""
    _train_then_test(osp.join(CONFIGS, 'tiny_seg.py'), [
        f'train_dataloader.dataset.data_root={seg_folder}',
        f'test_dataloader.dataset.data_root={seg_folder}'
    ], tmp_path, 'mIoU')


@pytest.fixture(scope='module')
def det_folder(tmp_path_factory):
    """4 images 64x64 with one bright box each, COCO annotations."""
    import json

    import cv2
    import numpy as np
    root = tmp_path_factory.mktemp('det')
    (root / 'img').mkdir()
    images, annotations = [], []
    for i in range(4):
        image = np.zeros((64, 64, 3), np.uint8)
        x, y = 8 + 8 * i, 12
        image[y:y + 24, x:x + 20] = 255
        cv2.imwrite(str(root / 'img' / f'{i}.png'), image)
        images.append(dict(id=i, file_name=f'{i}.png', width=64, height=64))
        annotations.append(
            dict(id=i, image_id=i, category_id=i % 2, bbox=[x, y, 20, 24],
                 area=480, iscrowd=0))
    categories = [dict(id=0, name='square'), dict(id=1, name='disc')]
    (root / 'ann.json').write_text(json.dumps(
        dict(info={}, images=images, annotations=annotations,
             categories=categories)))
    return str(root)


def test_tools_run_mmdet_configs(det_folder, tmp_path):
    """The same tools train and test a config of the mmdet scope."""
    _train_then_test(osp.join(CONFIGS, 'tiny_det.py'), [
        f'train_dataloader.dataset.data_root={det_folder}',
        f'test_dataloader.dataset.data_root={det_folder}',
        f'test_evaluator.ann_file={det_folder}/ann.json'
    ], tmp_path, 'coco/bbox_mAP')
