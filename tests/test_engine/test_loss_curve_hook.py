"""LossCurveHook: the loss panel, and patch_acc with its chance level."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.logging import MessageHub

from conmim_mm.engine.hooks import loss_curve_hook
from conmim_mm.engine.hooks.loss_curve_hook import (LossCurveHook,
                                                    patch_acc_chance)


class _Model(nn.Module):

    def __init__(self, grid):
        super().__init__()
        self.backbone = nn.Module()
        if grid is not None:
            self.backbone.patch_resolution = grid


def _runner(tmp_path, scalars, grid=(8, 8)):
    hub = MessageHub(f'loss_curve_{len(scalars)}_{grid}')
    for key, values in scalars.items():
        for value in values:
            hub.update_scalar(key, value)
    logged = []
    return SimpleNamespace(
        message_hub=hub, model=_Model(grid), work_dir=str(tmp_path),
        logger=SimpleNamespace(info=logged.append), logged=logged)


def test_chance_is_one_over_the_number_of_patches():
    assert patch_acc_chance(_Model((8, 8))) == pytest.approx(100 / 64)
    assert patch_acc_chance(_Model((14, 12))) == pytest.approx(100 / 168)
    assert patch_acc_chance(_Model(None)) is None


@pytest.mark.parametrize('with_acc', [False, True])
def test_panels(with_acc, tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(loss_curve_hook, 'plot_panels',
                        lambda steps, panels, path: drawn.append(
                            (list(steps), panels, path)))
    scalars = {'train/loss': [4.0, 3.0, 2.0, 1.0]}
    if with_acc:
        scalars['train/patch_acc'] = [1.0, 2.0, 4.0, 8.0]
    runner = _runner(tmp_path, scalars)
    LossCurveHook(window=2).after_train(runner)
    (steps, panels, path), = drawn
    assert steps == [1, 2, 3, 4]
    assert path == osp.join(str(tmp_path), 'loss_curve.png')
    assert list(panels[0].curves['loss']) == [4.0, 3.0, 2.0, 1.0]
    assert list(panels[0].curves['mean of 2']) == [3.5, 2.5, 1.5]
    assert len(panels) == (2 if with_acc else 1)
    if with_acc:
        assert list(panels[1].curves['mean of 2']) == [1.5, 3.0, 6.0]
        assert list(panels[1].levels.values()) == [pytest.approx(100 / 64)]
    assert runner.logged == [f'loss curve written to {path}']


def test_writes_the_image(tmp_path):
    runner = _runner(tmp_path, {'train/loss': [2.0, 1.0],
                                'train/patch_acc': [5.0, 9.0]})
    LossCurveHook().after_train(runner)
    assert osp.getsize(osp.join(str(tmp_path), 'loss_curve.png')) > 0
