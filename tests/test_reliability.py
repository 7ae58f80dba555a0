"""Faults injected into real runs: SIGKILL and resume (1 and 2 processes),
NaN losses and Inf gradients, fp16 overflow skips, unreadable images and
lists naming missing files, rank consistency and SyncBN under gloo, bad
downstream checkpoints."""
import math
import os
import os.path as osp
import random
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from conftest import CONFIGS, HELPERS, ROOT, run_tool
from conmim_mm.checkpoint import load_checkpoint_file

FAULTS = osp.join(CONFIGS, 'demo_faults.py')
FOLDER = osp.join(CONFIGS, 'demo_folder.py')
SINGLE = ['train_dataloader.num_workers=2']


def _options(options) -> list:
    return ['--cfg-options', *options] if options else []


def _train(work_dir, *options, args=(), config=FAULTS):
    return run_tool(['tools/train.py', config, '--work-dir', str(work_dir),
                     *args, *_options(options)])


def _dist_train(work_dir, *options, args=()):
    return run_tool(['tools/dist_train.sh', FAULTS, '2', '--work-dir',
                     str(work_dir), *args, *_options(options)],
                    PORT=str(random.randint(20000, 40000)))


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
    return 1 - 0.004 * (math.cos(math.pi * cur_iter / max_iters) + 1) / 2


def _assert_same_state(path, reference, atol=1e-6) -> None:
    """Weights (student, teacher, BN buffers) and AdamW state match."""
    got, ref = _checkpoint(path), _checkpoint(reference)
    assert got['meta']['iter'] == ref['meta']['iter']
    assert got['state_dict'].keys() == ref['state_dict'].keys()
    for key, value in ref['state_dict'].items():
        diff = (got['state_dict'][key].double() - value.double()).abs()
        assert diff.max().item() <= atol, key
    for index, state in ref['optimizer']['state'].items():
        for name, value in state.items():
            diff = (got['optimizer']['state'][index][name].double() -
                    value.double()).abs()
            assert diff.max().item() <= atol, (index, name)


def _all_finite(path) -> bool:
    state = _checkpoint(path)['state_dict']
    return all(torch.isfinite(v).all() for v in state.values()
               if v.is_floating_point())


def _descendants(pid: int) -> list:
    """``pid`` and every process below it (from /proc)."""
    children = {}
    for entry in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{entry}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return found


def _run_and_kill(command, work_dir, after: str, **env) -> None:
    """Start ``command``; SIGKILL it and all its descendants (torchrun's
    workers run in their own sessions) once ``after`` is the last checkpoint
    (mid-run: the run sleeps 0.5 s per iteration)."""
    environ = dict(os.environ, **env)
    environ['PYTHONPATH'] = os.pathsep.join([ROOT, HELPERS])
    environ['PYTHON'] = sys.executable
    if command[0].endswith('.py'):
        command = [sys.executable] + command
    proc = subprocess.Popen(command, cwd=ROOT, env=environ,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    marker = work_dir / 'last_checkpoint'
    deadline = time.monotonic() + 300
    try:
        while not (marker.exists() and
                   marker.read_text().endswith(after)):
            assert proc.poll() is None, 'the run ended before the kill'
            assert time.monotonic() < deadline, 'no checkpoint in time'
            time.sleep(0.05)
    finally:
        for pid in _descendants(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (work_dir / 'iter_12.pth').exists()


def _parameters(state: dict) -> list:
    """Keys of ``state`` that are not BatchNorm statistics."""
    return [k for k in state
            if 'running_' not in k and 'num_batches_tracked' not in k]


# ------------------------------------------------------------ kill + resume
@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    """The uninterrupted single-process run (12 iterations)."""
    work_dir = tmp_path_factory.mktemp('reference')
    _ok(_train(work_dir, *SINGLE))
    return work_dir


def test_sigkill_then_resume_auto_ends_as_the_uninterrupted_run(
        reference, tmp_path):
    _run_and_kill(['tools/train.py', FAULTS, '--work-dir', str(tmp_path),
                   '--cfg-options', *SINGLE, 'custom_hooks.1.sleep=0.5'],
                  tmp_path, 'iter_6.pth')
    log = _ok(_train(tmp_path, *SINGLE, args=['--resume', 'auto']))
    assert 'resumed epoch: 0, iter: 6' in log
    _assert_same_state(tmp_path / 'iter_12.pth', reference / 'iter_12.pth')
    # the momentum schedule went on at iteration 7 (index 6)
    hub = _checkpoint(tmp_path / 'iter_12.pth')['message_hub']
    logged = hub['log_scalars']['train/teacher_momentum']['log_history']
    assert logged[-6:] == pytest.approx([_momentum(i) for i in range(6, 12)])


def test_resume_auto_survives_a_kill_while_checkpointing(reference,
                                                        tmp_path):
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
    _assert_same_state(tmp_path / 'iter_12.pth', reference / 'iter_12.pth')


def test_resume_from_a_truncated_checkpoint_is_one_line(reference,
                                                        tmp_path):
    partial = (reference / 'iter_6.pth').read_bytes()
    (tmp_path / 'iter_6.pth').write_bytes(partial[:len(partial) // 2])
    result = _train(tmp_path, args=['--resume', str(tmp_path / 'iter_6.pth')])
    assert _error_line(result) == (
        f'error: checkpoint {tmp_path / "iter_6.pth"} is truncated (written '
        'when the run was killed?); resume from an earlier one or use '
        '--resume auto')


@pytest.fixture(scope='module')
def reference_2proc(tmp_path_factory):
    """The uninterrupted 2-process gloo run and its output."""
    work_dir = tmp_path_factory.mktemp('reference_2proc')
    return work_dir, _ok(_dist_train(work_dir))


def test_sigkill_then_resume_two_processes(reference_2proc, tmp_path):
    reference, _ = reference_2proc
    _run_and_kill(['tools/dist_train.sh', FAULTS, '2', '--work-dir',
                   str(tmp_path), '--cfg-options', 'custom_hooks.1.sleep=0.5'],
                  tmp_path, 'iter_6.pth',
                  PORT=str(random.randint(20000, 40000)))
    log = _ok(_dist_train(tmp_path, args=['--resume']))
    assert 'resumed epoch: 0, iter: 6' in log
    _assert_same_state(tmp_path / 'iter_12.pth', reference / 'iter_12.pth')
    # every rank's weights; BN running statistics are per rank and only
    # rank 0's are checkpointed, so after a resume rank 1 continues from
    # rank 0's (they are not used by the training loss)
    for rank in (0, 1):
        got = torch.load(str(tmp_path / f'rank{rank}.pth'), weights_only=True)
        ref = torch.load(str(reference / f'rank{rank}.pth'),
                         weights_only=True)
        for key in _parameters(ref):
            assert torch.allclose(got[key].double(), ref[key].double(),
                                  rtol=0, atol=1e-6), (rank, key)


# ------------------------------------------------- distributed consistency
def _rank_states(work_dir):
    return [torch.load(str(work_dir / f'rank{r}.pth'), weights_only=True)
            for r in (0, 1)]


def test_two_ranks_hold_identical_student_and_teacher(reference_2proc):
    work_dir, log = reference_2proc
    rank0, rank1 = _rank_states(work_dir)
    params = _parameters(rank0)
    assert any(k.startswith('teacher.neck.') for k in params)
    for key in params:
        assert torch.equal(rank0[key], rank1[key]), key
    # per-rank BN: the running statistics saw different data
    assert not torch.equal(rank0['teacher.neck.bn0.running_mean'],
                           rank1['teacher.neck.bn0.running_mean'])
    # the loss is logged once per logging interval
    assert log.count('Iter(train) [12/12]') == 1
    assert log.count('Iter(train) [ 1/12]') == 1


def test_syncbn_projector_under_gloo(tmp_path):
    _ok(_dist_train(tmp_path, 'train_cfg.max_iters=4',
                    'model.neck.norm_cfg.type=PortableSyncBN'))
    rank0, rank1 = _rank_states(tmp_path)
    assert any(k.endswith('running_mean') for k in rank0)
    for key in rank0:  # parameters and BN statistics alike
        assert torch.equal(rank0[key], rank1[key]), key


def test_portable_sync_bn_equals_batch_norm_on_the_whole_batch(tmp_path):
    from helpers.sync_bn_worker import run
    mp.spawn(run, args=(2, random.randint(20000, 40000), str(tmp_path)),
             nprocs=2)
    ranks = [torch.load(str(tmp_path / f'rank{r}.pth'), weights_only=True)
             for r in (0, 1)]
    torch.manual_seed(0)
    x = (torch.randn(8, 6, 3) * 3 + 1).requires_grad_()
    weight = torch.randn(8, 6, 3)
    bn = torch.nn.BatchNorm1d(6)
    with torch.no_grad():
        bn.weight.copy_(torch.linspace(0.5, 1.5, 6))
        bn.bias.copy_(torch.linspace(-1, 1, 6))
    out = bn(x)
    (out * weight).sum().backward()
    close = dict(rtol=0, atol=1e-5)
    assert torch.allclose(torch.cat([r['out'] for r in ranks]), out, **close)
    assert torch.allclose(torch.cat([r['grad'] for r in ranks]), x.grad,
                          **close)
    for name, full in (('weight_grad', bn.weight.grad),
                       ('bias_grad', bn.bias.grad)):
        assert torch.allclose(ranks[0][name] + ranks[1][name], full, **close)
    for r in ranks:
        assert torch.allclose(r['running_mean'], bn.running_mean, **close)
        assert torch.allclose(r['running_var'], bn.running_var, **close)


# ------------------------------------------------------- non-finite values
def test_nan_loss_stops_after_saving_the_last_good_state(reference, tmp_path):
    result = _train(tmp_path, *SINGLE, 'custom_hooks.1.nan_loss_at=8',
                    'default_hooks.checkpoint.interval=3')
    saved = tmp_path / 'iter_7.pth'
    assert _error_line(result) == (
        'error: non-finite loss at iteration 8/12: loss=nan; the state '
        f'after iteration 7 is saved in {saved}; continue from it with '
        '--resume')
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == [
        'iter_3.pth', 'iter_6.pth', 'iter_7.pth']
    assert all(_all_finite(p) for p in tmp_path.glob('iter_*.pth'))
    assert (tmp_path / 'last_checkpoint').read_text() == str(saved)
    _assert_same_state(tmp_path / 'iter_6.pth', reference / 'iter_6.pth')
    # nothing lost: resuming without the fault ends as the reference run
    _ok(_train(tmp_path, *SINGLE, args=['--resume']))
    _assert_same_state(tmp_path / 'iter_12.pth', reference / 'iter_12.pth')


def test_non_finite_step_never_reaches_the_teacher(tmp_path):
    result = _train(tmp_path, 'custom_hooks.1.inf_grad_at=5')
    assert _error_line(result) == (
        'error: the optimizer step of iteration 5/12 made the student\'s '
        'weights non-finite (gradient norm inf); the teacher was not '
        'updated and nothing was saved; the last good checkpoint is '
        f'{tmp_path / "iter_4.pth"}')
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == [
        'iter_2.pth', 'iter_4.pth']
    assert all(_all_finite(p) for p in tmp_path.glob('iter_*.pth'))


def test_fp16_overflow_skips_are_counted_and_a_run_of_them_stops(
        monkeypatch):
    from mmengine.logging import MessageHub
    from mmengine.optim import AmpOptimWrapper
    from mmengine.optim.optimizer import amp_optimizer_wrapper

    from conmim_mm.engine.hooks import SkippedStepHook
    from conmim_mm.non_finite import NonFiniteError

    # AmpOptimWrapper insists on a GPU; its scaler logic runs on CPU
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    model = torch.nn.Linear(4, 1)
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=1024.)
    hub = MessageHub.get_instance('test_fp16_skips')
    hub.update_info('max_iters', 10)
    runner = SimpleNamespace(optim_wrapper=wrapper, message_hub=hub)
    hook = SkippedStepHook(max_consecutive=3)
    overflow = [False, True, True, False, True, True, True]
    for i, inf in enumerate(overflow):
        hub.update_info('iter', i)
        before = model.weight.detach().clone()
        hook.before_train_iter(runner, i)
        loss = model(torch.ones(2, 4)).sum() * (math.inf if inf else 1.)
        wrapper.update_params(loss)
        assert torch.equal(model.weight, before) == inf  # skipped = unchanged
        if i < len(overflow) - 1:
            hook.after_train_iter(runner, i)
    with pytest.raises(NonFiniteError) as err:
        hook.after_train_iter(runner, len(overflow) - 1)
    assert str(err.value).startswith(
        '3 optimizer steps in a row were skipped for fp16 overflow, up to '
        'iteration 7/10 (loss scale now 32)')
    assert err.value.weights_finite
    counts = hub.get_scalar('train/skipped_steps').data[0]
    assert list(counts) == [0, 1, 2, 2, 3, 4, 5]
    assert hub.get_info('skipped_steps') == 5


def test_amp_configs_get_the_skip_hook_and_keep_their_settings():
    from mmengine.config import Config

    from conmim_mm.launch import add_default_hooks
    cfg = Config(dict(optim_wrapper=dict(type='AmpOptimWrapper'),
                      custom_hooks=[dict(type='SkippedStepHook',
                                         max_consecutive=5)]))
    add_default_hooks(cfg)
    assert cfg.custom_hooks == [
        dict(type='SkippedStepHook', max_consecutive=5),
        dict(type='SafeCheckpointHook')]
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
    add_default_hooks(cfg)
    assert cfg.custom_hooks == [dict(type='SafeCheckpointHook')]


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


def test_unreadable_image_stops_the_run_naming_the_file(tmp_path):
    root = _image_folder(tmp_path / 'images', ['truncated.jpg'])
    result = _train(tmp_path / 'work', 'train_dataloader.num_workers=2',
                    f'train_dataloader.dataset.data_root={root}',
                    'train_cfg.max_iters=4', config=FOLDER)
    line = _error_line(result)  # the demo decodes with pillow
    assert line.startswith(
        f'error: cannot load image {root / "truncated.jpg"}: OSError: image '
        'file is truncated')
    assert line.endswith("(set on_error='skip' in CheckedLoadImageFromFile "
                         'to skip such files)')


def test_unreadable_images_can_be_skipped_with_a_count(tmp_path):
    root = _image_folder(tmp_path / 'images', ['truncated.jpg', 'notes.jpg'])
    log = _ok(_train(tmp_path / 'work', 'train_dataloader.num_workers=2',
                     f'train_dataloader.dataset.data_root={root}',
                     'train_dataloader.dataset.pipeline.0.on_error=skip',
                     'train_cfg.max_iters=4', config=FOLDER))
    warnings = [line for line in log.splitlines() if 'skipped image' in line]
    # 16 samples from 8 files: every file is drawn, each broken one skipped
    assert any('notes.jpg: UnidentifiedImageError' in w for w in warnings)
    assert any('truncated.jpg: OSError: image file is truncated' in w
               for w in warnings)
    counts = sorted(int(w.split('(')[-1].split()[0]) for w in warnings)
    assert counts == list(range(1, len(warnings) + 1))  # shared by workers
    assert 'Iter(train) [4/4]' in log


def test_list_naming_missing_files_is_reported_at_build(tmp_path):
    root = _image_folder(tmp_path / 'images')
    ann = tmp_path / 'train.txt'
    ann.write_text('0.png\ngone_a.png\n1.png\n2.png\ngone_b.png\n')
    result = _train(tmp_path / 'work',
                    f'train_dataloader.dataset.data_root={root}',
                    f'train_dataloader.dataset.ann_file={ann}',
                    config=FOLDER)
    assert _error_line(result) == (
        f'error: 2 of 5 files listed in {ann} do not exist (line 2: '
        f'{root / "gone_a.png"}; line 5: {root / "gone_b.png"}); fix the '
        'list or the data_root/data_prefix')
    assert 'Iter(train)' not in result.stdout


# ------------------------------------------------------ downstream configs
DOWNSTREAM = osp.join(ROOT, 'configs', 'downstream', 'imagenet',
                      'vit-b_ft-100e.py')


@pytest.mark.parametrize('content,expected', [
    (None, 'does not exist; expected a ConMIM pre-training checkpoint'),
    ({'state_dict': {'fc.weight': torch.zeros(2)}},
     "holds no weights under model.backbone.init_cfg.prefix="
     "'teacher.backbone.' (its top-level keys: ['fc'])"),
    ('', 'is empty: set it to a ConMIM pre-training checkpoint'),
])
def test_downstream_checkpoint_is_checked_at_build(content, expected,
                                                   tmp_path):
    from mmengine.config import Config

    from conmim_mm.config_check import ConfigError, check_pretrained_checkpoint
    path = tmp_path / 'pretrained.pth'
    if isinstance(content, dict):
        torch.save(content, str(path))
    cfg = Config.fromfile(DOWNSTREAM)
    cfg.model.backbone.init_cfg.checkpoint = '' if content == '' else str(
        path)
    with pytest.raises(ValueError, match='model.backbone.init_cfg.'
                       'checkpoint') as err:
        check_pretrained_checkpoint(cfg)
    assert isinstance(err.value, ConfigError)
    assert expected in str(err.value)


def test_downstream_bad_checkpoint_is_one_line_from_train(tmp_path):
    result = run_tool([
        'tools/train.py', DOWNSTREAM, '--work-dir', str(tmp_path),
        '--cfg-options', 'model.backbone.init_cfg.checkpoint=/nope/x.pth'])
    assert _error_line(result).startswith(
        'error: model.backbone.init_cfg.checkpoint=/nope/x.pth does not '
        'exist; expected a ConMIM pre-training checkpoint')


def test_loader_names_the_file_and_reason_with_opencv(tmp_path):
    from conmim_mm.datasets import (CheckedLoadImageFromFile,
                                    UnreadableImageError)
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
