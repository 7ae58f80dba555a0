"""tools/train.py on a tiny mmpretrain classifier (CPU): checkpoints load
weights-only, --resume PATH and --resume continue at the same iteration."""
import os.path as osp

import pytest
import torch

from conftest import CONFIGS, data_options, run_tool
from conmim_mm.checkpoints import load_checkpoint_file

TINY = osp.join(CONFIGS, 'tiny_cls.py')


def _train(work_dir, folder, *extra):
    result = run_tool(['tools/train.py', TINY, '--work-dir', str(work_dir),
                       '--cfg-options', *data_options(folder), *extra])
    assert result.returncode == 0, \
        result.stdout[-3000:] + result.stderr[-3000:]
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
    (tmp_path / 'iter_2.pth').write_bytes(
        (full_run / 'iter_2.pth').read_bytes())
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    result = _train(tmp_path, image_folder, '--resume')
    assert 'resumed epoch: 0, iter: 2' in result.stdout + result.stderr
    assert load_checkpoint_file(str(tmp_path / 'iter_4.pth'))['meta'][
        'iter'] == 4
