"""Faults injected into real single-process runs of tools/train.py: SIGKILL
and resume, kills while checkpointing, a full disk while checkpointing, NaN
losses and Inf gradients, unreadable images and lists naming missing
files."""
import math
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from common import (CONFIGS, FAULTS, REFERENCE_OPTIONS, ROOT, background_run,
                    run_tool, train_command)
from conmim_mm.checkpoints import load_checkpoint_file
from faults import all_finite, assert_same_state, run_and_kill

FOLDER = osp.join(CONFIGS, 'demo_folder.py')
#: as the shared reference run
SINGLE = REFERENCE_OPTIONS


def _train(work_dir, *options, args=(), config=FAULTS):
    return run_tool(train_command(config, work_dir, *options, args=args))


# the runs meant to fail that the tests below read (in the background:
# common.background_run)
def _faulty(work_dir, *options, config=FAULTS):
    return train_command(config, work_dir, *options), {}


def _ok(result) -> str:
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    return out


def _error_line(result) -> str:
    """The one line a failing tool prints (no traceback)."""
    assert result.returncode == 1, (result.stdout + result.stderr)[-4000:]
    assert 'Traceback' not in result.stderr
    return result.stderr.strip().splitlines()[-1]


def _checkpoint(path) -> dict:
    return load_checkpoint_file(str(path))


def _momentum(cur_iter: int, max_iters: int = 12) -> float:
    """The cosine schedule from the demo's base momentum to 1."""
    from mmengine.config import Config
    base = Config.fromfile(FAULTS).model.teacher_momentum
    return 1 - (1 - base) * (math.cos(math.pi * cur_iter / max_iters) + 1) / 2


# ------------------------------------------------------------ kill + resume
# (compared with conftest.py's reference_run: the uninterrupted single-process
# run of FAULTS, with a checkpoint after every iteration)
@pytest.fixture
def reference(reference_run):
    return reference_run.work_dir


def test_sigkill_then_resume_auto_ends_as_the_uninterrupted_run(
        reference, tmp_path):
    run_and_kill(['tools/train.py', FAULTS, '--work-dir', str(tmp_path),
                  '--cfg-options', *SINGLE, 'custom_hooks.1.sleep=0.5'],
                 ROOT, tmp_path, 'iter_6.pth')
    assert not (tmp_path / 'iter_12.pth').exists()
    log = _ok(_train(tmp_path, *SINGLE, args=['--resume', 'auto']))
    assert 'resumed epoch: 0, iter: 6' in log
    assert_same_state(tmp_path / 'iter_12.pth', reference / 'iter_12.pth')
    # the momentum schedule went on at iteration 7 (index 6)
    hub = _checkpoint(tmp_path / 'iter_12.pth')['message_hub']
    logged = hub['log_scalars']['train/teacher_momentum']['log_history']
    assert logged[-6:] == pytest.approx([_momentum(i) for i in range(6, 12)])


def test_resume_auto_survives_a_kill_while_checkpointing(
        reference, tmp_path):
    """A kill while mmengine rewrote ``last_checkpoint`` (empty) and wrote
    the next checkpoint (truncated): ``--resume auto`` takes the newest
    complete checkpoint and the run still ends as the uninterrupted one."""
    for name in ('iter_2.pth', 'iter_4.pth'):
        (tmp_path / name).write_bytes((reference / name).read_bytes())
    partial = (reference / 'iter_6.pth').read_bytes()
    (tmp_path / 'iter_6.pth').write_bytes(partial[:len(partial) // 2])
    (tmp_path / 'last_checkpoint').write_text('')
    log = _ok(_train(tmp_path, *SINGLE, args=['--resume', 'auto']))
    assert (f'names nothing, which is not a complete checkpoint; resuming '
            f'from the newest complete one, {tmp_path / "iter_4.pth"}') in log
    assert 'resumed epoch: 0, iter: 4' in log
    assert_same_state(tmp_path / 'iter_12.pth', reference / 'iter_12.pth')


def test_resume_from_a_truncated_checkpoint_is_one_line(reference,
                                                        tmp_path):
    partial = (reference / 'iter_6.pth').read_bytes()
    (tmp_path / 'iter_6.pth').write_bytes(partial[:len(partial) // 2])
    result = _train(tmp_path, args=['--resume', str(tmp_path / 'iter_6.pth')])
    assert _error_line(result) == (
        f'error: checkpoint {tmp_path / "iter_6.pth"} is truncated (written '
        'when the run was killed?); resume from an earlier one or use '
        '--resume auto')


# --------------------------------------------------------------- full disk
@background_run(succeeds=False)
def full_disk_run(work_dir):
    return _faulty(work_dir, 'custom_hooks.1.disk_full_at=4')


def test_full_disk_while_checkpointing_is_one_line_and_leaves_no_file(
        full_disk_run):
    result, work_dir = full_disk_run.result, full_disk_run.work_dir
    assert _error_line(result) == (
        f'error: could not write {work_dir / "iter_4.pth"} (No space left on '
        'device); no partial file is left; the last complete checkpoint is '
        f'{work_dir / "iter_2.pth"}; continue from it with --resume')
    assert sorted(n for n in os.listdir(work_dir) if 'iter_' in n) == [
        'iter_2.pth']
    assert _checkpoint(work_dir / 'iter_2.pth')['meta']['iter'] == 2
    assert (work_dir / 'last_checkpoint').read_text() == str(
        work_dir / 'iter_2.pth')


@background_run(succeeds=False)
def full_disk_at_nan_run(work_dir):
    return _faulty(work_dir, 'custom_hooks.1.disk_full_at=7',
                   'custom_hooks.1.nan_loss_at=8',
                   'default_hooks.checkpoint.interval=3')


def test_full_disk_while_saving_the_state_at_a_nan_is_one_line(
        full_disk_at_nan_run):
    result = full_disk_at_nan_run.result
    work_dir = full_disk_at_nan_run.work_dir
    assert _error_line(result) == (
        'error: non-finite loss at iteration 8/12: loss=nan; could not write '
        f'{work_dir / "iter_7.pth"} (No space left on device); no partial '
        'file is left; the last complete checkpoint is '
        f'{work_dir / "iter_6.pth"}; continue from it with --resume')
    assert sorted(n for n in os.listdir(work_dir) if 'iter_' in n) == [
        'iter_3.pth', 'iter_6.pth']


# ------------------------------------------------------- non-finite values
@background_run(succeeds=False)
def nan_loss_run(work_dir):
    return _faulty(work_dir, *SINGLE, 'custom_hooks.1.nan_loss_at=8',
                   'default_hooks.checkpoint.interval=3')


def test_nan_loss_stops_after_saving_the_last_good_state(reference,
                                                         nan_loss_run):
    result, work_dir = nan_loss_run.result, nan_loss_run.work_dir
    saved = work_dir / 'iter_7.pth'
    assert _error_line(result) == (
        'error: non-finite loss at iteration 8/12: loss=nan; the state '
        f'after iteration 7 is saved in {saved}; continue from it with '
        '--resume')
    assert sorted(p.name for p in work_dir.glob('iter_*.pth')) == [
        'iter_3.pth', 'iter_6.pth', 'iter_7.pth']
    assert all(all_finite(_checkpoint(p)['state_dict'])
               for p in work_dir.glob('iter_*.pth'))
    assert (work_dir / 'last_checkpoint').read_text() == str(saved)
    assert_same_state(work_dir / 'iter_6.pth', reference / 'iter_6.pth')
    # nothing lost (the BN statistics the NaN forward pass changed were
    # restored): resuming without the fault ends as the reference run
    _ok(_train(work_dir, *SINGLE, args=['--resume']))
    assert_same_state(work_dir / 'iter_12.pth', reference / 'iter_12.pth')


@background_run(succeeds=False)
def inf_grad_run(work_dir):
    return _faulty(work_dir, 'custom_hooks.1.inf_grad_at=5')


def test_non_finite_step_never_reaches_the_teacher(inf_grad_run):
    result, work_dir = inf_grad_run.result, inf_grad_run.work_dir
    assert _error_line(result) == (
        'error: the optimizer step of iteration 5/12 made the student\'s '
        'weights non-finite (gradient norm inf); the teacher was not '
        'updated and nothing was saved; the last good checkpoint is '
        f'{work_dir / "iter_4.pth"}')
    assert sorted(p.name for p in work_dir.glob('iter_*.pth')) == [
        'iter_2.pth', 'iter_4.pth']
    assert all(all_finite(_checkpoint(p)['state_dict'])
               for p in work_dir.glob('iter_*.pth'))


# ---------------------------------------------------------------- bad data
def _image_folder(root, broken=()):
    """Six random 64x64 PNGs plus the named broken files."""
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        cv2.imwrite(str(root / f'{i}.png'), image)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    jpeg = cv2.imencode('.jpg', image)[1].tobytes()
    contents = {'truncated.jpg': jpeg[:len(jpeg) - 200],
                'notes.jpg': b'these are my notes, not a picture\n'}
    for name in broken:
        (root / name).write_bytes(contents[name])
    return root


@background_run(succeeds=False)
def unreadable_image_run(work_dir):
    root = _image_folder(work_dir / 'images', ['truncated.jpg'])
    return _faulty(work_dir / 'work', 'train_dataloader.num_workers=2',
                   f'train_dataloader.dataset.data_root={root}',
                   'train_cfg.max_iters=4', config=FOLDER)


def test_unreadable_image_stops_the_run_naming_the_file(unreadable_image_run):
    root = unreadable_image_run.work_dir / 'images'
    line = _error_line(unreadable_image_run.result)  # decoded with pillow
    assert line.startswith(
        f'error: cannot load image {root / "truncated.jpg"}: OSError: image '
        'file is truncated')
    assert line.endswith("(set on_error='skip' in CheckedLoadImageFromFile "
                         'to skip such files)')


@background_run()
def skipped_images_run(work_dir):
    root = _image_folder(work_dir / 'images', ['truncated.jpg', 'notes.jpg'])
    return _faulty(work_dir / 'work', 'train_dataloader.num_workers=2',
                   f'train_dataloader.dataset.data_root={root}',
                   'train_dataloader.dataset.pipeline.0.on_error=skip',
                   'train_cfg.max_iters=4', config=FOLDER)


def test_unreadable_images_can_be_skipped_with_a_count(skipped_images_run):
    log = skipped_images_run.log
    warnings = [line for line in log.splitlines() if 'skipped image' in line]
    # 16 samples from 8 files: every file is drawn, each broken one skipped
    assert any('notes.jpg: UnidentifiedImageError' in w for w in warnings)
    assert any('truncated.jpg: OSError: image file is truncated' in w
               for w in warnings)
    counts = sorted(int(w.split('(')[-1].split()[0]) for w in warnings)
    assert counts == list(range(1, len(warnings) + 1))  # shared by workers
    assert 'Iter(train) [4/4]' in log


@background_run(succeeds=False)
def missing_files_run(work_dir):
    root = _image_folder(work_dir / 'images')
    ann = work_dir / 'train.txt'
    ann.write_text('0.png\ngone_a.png\n1.png\n2.png\ngone_b.png\n')
    return _faulty(work_dir / 'work',
                   f'train_dataloader.dataset.data_root={root}',
                   f'train_dataloader.dataset.ann_file={ann}',
                   config=FOLDER)


def test_list_naming_missing_files_is_reported_at_build(missing_files_run):
    result = missing_files_run.result
    root = missing_files_run.work_dir / 'images'
    ann = missing_files_run.work_dir / 'train.txt'
    assert _error_line(result) == (
        f'error: 2 of 5 files listed in {ann} do not exist (line 2: '
        f'{root / "gone_a.png"}; line 5: {root / "gone_b.png"}); fix the '
        'list or the data_root/data_prefix')
    assert 'Iter(train)' not in result.stdout


def test_loader_names_the_file_and_reason_with_opencv(tmp_path):
    from conmim_mm.datasets import CheckedLoadImageFromFile
    from conmim_mm.errors import UnreadableImageError
    root = _image_folder(tmp_path / 'images', ['truncated.jpg'])
    load = CheckedLoadImageFromFile()  # cv2, as the published configs
    assert load({'img_path': str(root / '0.png')})['img'].shape == (64, 64, 3)
    for name, reason in (('truncated.jpg', 'truncated or not an image'),
                         ('absent.png', 'no such file')):
        with pytest.raises(UnreadableImageError) as err:
            load({'img_path': str(root / name)})
        assert str(err.value).startswith(
            f'cannot load image {root / name}: {reason} (')
    skip = CheckedLoadImageFromFile(on_error='skip')
    assert skip({'img_path': str(root / 'absent.png')}) is None
    assert skip({'img_path': str(root / 'truncated.jpg')}) is None
    assert skip.skipped == 2
