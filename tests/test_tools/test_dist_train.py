"""tools/dist_train.sh with two CPU processes (gloo): the ranks stay
identical, a SIGKILLed run resumes to the uninterrupted result, compile=True
trains as eager, SyncBN synchronises across processes."""
import os.path as osp
import random

import pytest
import torch
import torch.multiprocessing as mp

from conftest import CONFIGS, ROOT, data_options, run_tool
from conmim_mm.checkpoints import load_checkpoint_file
from faults import assert_same_state, parameter_keys, run_and_kill

FAULTS = osp.join(CONFIGS, 'demo_faults.py')


def _ok(result) -> str:
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    return out


def _port() -> str:
    return str(random.randint(20000, 40000))


def _dist_train(work_dir, *options, args=(), config=FAULTS):
    options = ['--cfg-options', *options] if options else []
    return run_tool(['tools/dist_train.sh', config, '2', '--work-dir',
                     str(work_dir), *args, *options], PORT=_port())


def _rank_states(work_dir):
    return [torch.load(str(work_dir / f'rank{r}.pth'), weights_only=True)
            for r in (0, 1)]


def test_two_cpu_processes_end_identical(image_folder, tmp_path):
    """A tiny mmpretrain classifier (tests/data/configs/tiny_cls.py)."""
    config = osp.join(CONFIGS, 'tiny_cls_rank_dump.py')
    log = _ok(_dist_train(tmp_path, *data_options(image_folder),
                          config=config))
    rank0, rank1 = _rank_states(tmp_path)
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    final = load_checkpoint_file(str(tmp_path / 'iter_4.pth'))
    assert final['meta']['iter'] == 4
    for key in rank0:
        assert torch.equal(final['state_dict'][key], rank0[key]), key
    assert 'Distributed launcher: pytorch' in log


@pytest.fixture(scope='module')
def reference_2proc(tmp_path_factory):
    """The uninterrupted 2-process ConMIM run (12 iterations) and its log."""
    work_dir = tmp_path_factory.mktemp('reference_2proc')
    return work_dir, _ok(_dist_train(work_dir))


def test_two_ranks_hold_identical_student_and_teacher(reference_2proc):
    work_dir, log = reference_2proc
    rank0, rank1 = _rank_states(work_dir)
    params = parameter_keys(rank0)
    assert any(k.startswith('teacher.neck.') for k in params)
    for key in params:
        assert torch.equal(rank0[key], rank1[key]), key
    # per-rank BN: the running statistics saw different data
    assert not torch.equal(rank0['teacher.neck.bn0.running_mean'],
                           rank1['teacher.neck.bn0.running_mean'])
    # the loss is logged once per logging interval
    assert log.count('Iter(train) [12/12]') == 1
    assert log.count('Iter(train) [ 1/12]') == 1


def test_sigkill_then_resume_two_processes(reference_2proc, tmp_path):
    reference, _ = reference_2proc
    run_and_kill(['tools/dist_train.sh', FAULTS, '2', '--work-dir',
                  str(tmp_path), '--cfg-options', 'custom_hooks.1.sleep=0.5'],
                 ROOT, tmp_path, 'iter_6.pth', PORT=_port())
    assert not (tmp_path / 'iter_12.pth').exists()
    log = _ok(_dist_train(tmp_path, args=['--resume']))
    assert 'resumed epoch: 0, iter: 6' in log
    assert_same_state(tmp_path / 'iter_12.pth', reference / 'iter_12.pth')
    # every rank's weights; BN running statistics are per rank and only
    # rank 0's are checkpointed, so after a resume rank 1 continues from
    # rank 0's (they are not used by the training loss)
    for got, ref, rank in zip(_rank_states(tmp_path),
                              _rank_states(reference), (0, 1)):
        for key in parameter_keys(ref):
            assert torch.allclose(got[key].double(), ref[key].double(),
                                  rtol=0, atol=1e-6), (rank, key)


def test_compiled_two_processes_train_as_eager(reference_2proc, tmp_path):
    """compile=True (aot_eager, as in test_train_conmim.py) under DDP:
    CompilableDistributedDataParallel's train_step is not traced as one
    frame; the model's forward is compiled inside DDP's forward, split at
    the gradient buckets by dynamo's DDPOptimizer. Same losses and weights
    on both ranks as the eager run."""
    reference, _ = reference_2proc
    log = _ok(run_tool(
        ['tools/dist_train.sh', FAULTS, '2', '--work-dir', str(tmp_path),
         '--cfg-options', 'compile.backend=aot_eager'],
        PORT=_port(), TORCH_LOGS='dynamo'))
    assert 'DDPOptimizer used bucket cap' in log
    assert 'start tracing train_step' not in log
    assert_same_state(tmp_path / 'iter_12.pth', reference / 'iter_12.pth',
                      atol=1e-5)
    losses = [load_checkpoint_file(str(work_dir / 'iter_12.pth'))[
        'message_hub']['log_scalars']['train/loss']['log_history']
        for work_dir in (tmp_path, reference)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    for got, ref in zip(_rank_states(tmp_path), _rank_states(reference)):
        for key in parameter_keys(ref):
            assert torch.allclose(got[key], ref[key], rtol=0,
                                  atol=1e-5), key


def test_syncbn_projector_under_gloo(tmp_path):
    _ok(_dist_train(tmp_path, 'train_cfg.max_iters=4',
                    'model.neck.norm_cfg.type=PortableSyncBN'))
    rank0, rank1 = _rank_states(tmp_path)
    assert any(k.endswith('running_mean') for k in rank0)
    for key in rank0:  # parameters and BN statistics alike
        assert torch.equal(rank0[key], rank1[key]), key


def test_portable_sync_bn_equals_batch_norm_on_the_whole_batch(tmp_path):
    from sync_bn_worker import run
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
