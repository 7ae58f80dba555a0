"""tools/train.py then tools/test.py on tiny configs of the three scopes
(mmpretrain, mmseg, mmdet), on the CPU."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from conftest import CONFIGS, data_options, run_tool


def _assert_ok(result):
    assert result.returncode == 0, \
        result.stdout[-3000:] + result.stderr[-3000:]


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


def test_tools_run_mmpretrain_configs(image_folder, tmp_path):
    _train_then_test(osp.join(CONFIGS, 'tiny_cls.py'),
                     data_options(image_folder), tmp_path, 'accuracy/top1')


@pytest.fixture(scope='module')
def seg_folder(tmp_path_factory):
    """4 images with bright/dark halves and their 0/1 label maps."""
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


@pytest.mark.full_stack
def test_tools_run_mmseg_configs(seg_folder, tmp_path):
    _train_then_test(osp.join(CONFIGS, 'tiny_seg.py'), [
        f'train_dataloader.dataset.data_root={seg_folder}',
        f'test_dataloader.dataset.data_root={seg_folder}'
    ], tmp_path, 'mIoU')


@pytest.fixture(scope='module')
def det_folder(tmp_path_factory):
    """4 images 64x64 with one bright box each, COCO annotations."""
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


@pytest.mark.full_stack
def test_tools_run_mmdet_configs(det_folder, tmp_path):
    _train_then_test(osp.join(CONFIGS, 'tiny_det.py'), [
        f'train_dataloader.dataset.data_root={det_folder}',
        f'test_dataloader.dataset.data_root={det_folder}',
        f'test_evaluator.ann_file={det_folder}/ann.json'
    ], tmp_path, 'coco/bbox_mAP')
