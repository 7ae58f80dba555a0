"""tools/dist_train.sh with two CPU processes (gloo): the ranks stay
identical, a SIGKILLed run resumes to the uninterrupted result, compile=True
trains as eager, SyncBN synchronises across processes. (The two-process
runs have their own reference run: one process is not the same training.)"""
import random

import pytest
import torch

from common import (FAULTS, ROOT, background_run, dist_train,
                    dist_train_command, ok)
from conmim_mm.checkpoints import load_checkpoint_file
from faults import assert_same_state, parameter_keys, run_and_kill


def _dist_train(work_dir, *options, args=()):
    return dist_train(FAULTS, work_dir, *options, args=args)


def _rank_states(work_dir):
    return [torch.load(str(work_dir / f'rank{r}.pth'), weights_only=True)
            for r in (0, 1)]


@background_run()
def reference_2proc(work_dir):
    """The uninterrupted 2-process ConMIM run (12 iterations)."""
    return dist_train_command(FAULTS, work_dir)


def test_two_ranks_hold_identical_student_and_teacher(reference_2proc):
    work_dir, log = reference_2proc.work_dir, reference_2proc.log
    assert 'Distributed launcher: pytorch' in log
    rank0, rank1 = _rank_states(work_dir)
    params = parameter_keys(rank0)
    assert any(k.startswith('teacher.neck.') for k in params)
    for key in params:
        assert torch.equal(rank0[key], rank1[key]), key
    # the checkpoint is rank 0's model after the last iteration
    final = load_checkpoint_file(str(work_dir / 'iter_12.pth'))
    assert final['meta']['iter'] == 12
    assert final['state_dict'].keys() == rank0.keys()
    for key in rank0:
        assert torch.equal(final['state_dict'][key], rank0[key]), key
    # per-rank BN: the running statistics saw different data
    assert not torch.equal(rank0['teacher.neck.bn0.running_mean'],
                           rank1['teacher.neck.bn0.running_mean'])
    # the loss is logged once per logging interval
    assert log.count('Iter(train) [12/12]') == 1
    assert log.count('Iter(train) [ 1/12]') == 1


def test_sigkill_then_resume_two_processes(reference_2proc, tmp_path):
    reference = reference_2proc.work_dir
    command, port = dist_train_command(FAULTS, tmp_path,
                                       'custom_hooks.1.sleep=0.5')
    run_and_kill(command, ROOT, tmp_path, 'iter_6.pth', **port)
    assert not (tmp_path / 'iter_12.pth').exists()
    log = ok(_dist_train(tmp_path, args=['--resume']))
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


@background_run()
def compiled_2proc(work_dir):
    """The 2-process run with compile=True (aot_eager)."""
    command, env = dist_train_command(FAULTS, work_dir,
                                      'compile.backend=aot_eager')
    return command, dict(env, TORCH_LOGS='dynamo')


def test_compiled_two_processes_train_as_eager(reference_2proc,
                                               compiled_2proc):
    """compile=True (aot_eager, as in test_train_conmim.py) under DDP:
    CompilableDistributedDataParallel's train_step is not traced as one
    frame; the model's forward is compiled inside DDP's forward, split at
    the gradient buckets by dynamo's DDPOptimizer. Same losses and weights
    on both ranks as the eager run, from the first iteration."""
    reference = reference_2proc.work_dir
    compiled, log = compiled_2proc.work_dir, compiled_2proc.log
    assert 'DDPOptimizer used bucket cap' in log
    assert 'start tracing train_step' not in log
    assert_same_state(compiled / 'iter_12.pth', reference / 'iter_12.pth',
                      atol=1e-5)
    losses = [load_checkpoint_file(str(work_dir / 'iter_12.pth'))[
        'message_hub']['log_scalars']['train/loss']['log_history']
        for work_dir in (compiled, reference)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    for got, ref in zip(_rank_states(compiled), _rank_states(reference)):
        for key in parameter_keys(ref):
            assert torch.allclose(got[key], ref[key], rtol=0,
                                  atol=1e-5), key


@background_run()
def syncbn_2proc(work_dir):
    """4 iterations of 2 processes with the projector's PortableSyncBN."""
    return dist_train_command(FAULTS, work_dir, 'train_cfg.max_iters=4',
                              'model.neck.norm_cfg.type=PortableSyncBN')


def test_syncbn_projector_under_gloo(syncbn_2proc):
    rank0, rank1 = _rank_states(syncbn_2proc.work_dir)
    assert any(k.endswith('running_mean') for k in rank0)
    for key in rank0:  # parameters and BN statistics alike
        assert torch.equal(rank0[key], rank1[key]), key


@background_run()
def sync_bn_ranks(work_dir):
    """tests/helpers/sync_bn_worker.py: two gloo ranks normalise their half
    of a batch with PortableSyncBatchNorm."""
    return ['tests/helpers/sync_bn_worker.py', str(work_dir),
            str(random.randint(20000, 40000))], {}


def test_portable_sync_bn_equals_batch_norm_on_the_whole_batch(sync_bn_ranks):
    ranks = _rank_states(sync_bn_ranks.work_dir)
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
