"""Weighted kNN and the kNN monitor hook."""
import re

import torch

from common import DEMO, background_run, dist_train_command
from conmim_mm.analysis import weighted_knn_predict


def test_separable_features_give_100_percent():
    generator = torch.Generator().manual_seed(0)
    centres = torch.eye(10, 32) * 10
    labels = torch.arange(10).repeat(50)
    train = centres[labels] + torch.randn(500, 32, generator=generator)
    val_labels = torch.arange(10).repeat(20)
    val = centres[val_labels] + torch.randn(200, 32, generator=generator)
    predicted = weighted_knn_predict(train, labels, val, 10, chunk=64)
    assert (predicted == val_labels).float().mean().item() == 1.0


def test_random_features_give_about_chance():
    generator = torch.Generator().manual_seed(0)
    train = torch.randn(2000, 64, generator=generator)
    labels = torch.randint(0, 10, (2000, ), generator=generator)
    val = torch.randn(2000, 64, generator=generator)
    val_labels = torch.randint(0, 10, (2000, ), generator=generator)
    accuracy = (weighted_knn_predict(train, labels, val, 10) ==
                val_labels).float().mean().item()
    assert 0.07 < accuracy < 0.13


def test_votes_are_weighted_by_similarity():
    train = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.8, 0.6]])
    labels = torch.tensor([0, 1, 1])
    query = torch.tensor([[1.0, 0.0]])
    # k=3: one neighbour of class 0 at similarity 1, two of class 1 at 0.8;
    # exp(1/0.07) > 2 exp(0.8/0.07), so the closest wins ...
    assert weighted_knn_predict(train, labels, query, 2, k=3).item() == 0
    # ... and with a high temperature the majority wins
    assert weighted_knn_predict(
        train, labels, query, 2, k=3, temperature=100).item() == 1


@background_run()
def knn_2proc(work_dir):
    """Two iterations of the demo in two processes, the kNN monitor after
    every iteration."""
    from mmengine.config import Config
    knn = [hook.type for hook in Config.fromfile(DEMO).custom_hooks].index(
        'KNNMonitorHook')
    return dist_train_command(
        DEMO, work_dir, 'train_cfg.max_iters=2',
        'default_hooks.checkpoint.interval=2', 'param_scheduler.0.end=1',
        'param_scheduler.1.begin=1', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_dataloader.batch_size=4', f'custom_hooks.{knn}.interval=1')


def test_monitor_logs_once_under_two_gloo_processes(knn_2proc):
    result, work_dir = knn_2proc.result, knn_2proc.work_dir
    lines = re.findall(r'kNN top-1 \(k=20, teacher avg features, '
                       r'(\d+) train / (\d+) val\): [\d.]+% at iter (\d+)',
                       result.stdout + result.stderr)
    # iterations 0 (initial), 1 and 2, each logged once, from all samples
    assert [int(step) for *_, step in lines] == [0, 1, 2]
    assert {(int(t), int(v)) for t, v, _ in lines} == {(500, 300)}
    assert (work_dir / 'knn_curve.png').exists()
    assert 'Distributed launcher: pytorch' in result.stdout + result.stderr
