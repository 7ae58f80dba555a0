"""Shared fixtures: paths, a tiny labelled image folder, a CLI runner.

Tests marked ``full_stack`` need mmsegmentation, mmdet and mmcv's compiled
ops (``make setup-full``); the others run on the default environment too
(``make test-default``: ``pytest -m "not full_stack"``).
"""
import importlib.util
import os
import os.path as osp
import subprocess
import sys
from typing import List

import cv2
import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'tests', 'data', 'configs')
HELPERS = osp.join(ROOT, 'tests', 'helpers')


def has_full_stack() -> bool:
    """Whether mmseg, mmdet and mmcv's compiled ops are installed."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ('mmseg', 'mmdet', 'mmcv._ext'))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    """Refuse to run ``full_stack`` tests on the default environment.

    They would fail on imports; the message names the two ways out. (Runs
    after ``-m`` has deselected what it deselects.)
    """
    needing = [item for item in items if 'full_stack' in item.keywords]
    if needing and not has_full_stack():
        raise pytest.UsageError(
            f'{len(needing)} selected tests need mmsegmentation, mmdet and '
            "mmcv's compiled ops: run `make setup-full`, or deselect them "
            'with -m "not full_stack" (make test-default)')


@pytest.fixture(scope='session')
def image_folder(tmp_path_factory) -> str:
    """Two classes of 16 random 32x32 PNGs each (class 1 is brighter)."""
    root = tmp_path_factory.mktemp('images')
    rng = np.random.default_rng(0)
    for label, (low, high) in enumerate([(0, 128), (128, 256)]):
        folder = root / f'class_{label}'
        folder.mkdir()
        for i in range(16):
            image = rng.integers(low, high, (32, 32, 3), dtype=np.uint8)
            cv2.imwrite(str(folder / f'{i:02d}.png'), image)
    return str(root)


def data_options(folder: str) -> List[str]:
    """``--cfg-options`` that point the tiny config's loaders at ``folder``."""
    return [
        f'train_dataloader.dataset.data_root={folder}',
        f'test_dataloader.dataset.data_root={folder}'
    ]


def run_tool(args: List[str], timeout: int = 600,
             **env: str) -> subprocess.CompletedProcess:
    """Run a command from the repository root with this interpreter's env."""
    environ = dict(os.environ, **env)
    paths = [ROOT, HELPERS, environ.get('PYTHONPATH', '')]
    environ['PYTHONPATH'] = os.pathsep.join(p for p in paths if p)
    if args[0].endswith('.py'):
        args = [sys.executable] + args
    else:
        environ['PYTHON'] = sys.executable
    return subprocess.run(
        args, cwd=ROOT, env=environ, capture_output=True, text=True,
        timeout=timeout)


def mmpretrain_train_script() -> str:
    """mmpretrain's own tools/train.py (the copy installed with it)."""
    import mmpretrain
    return osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools',
                    'train.py')


def tiny_conmim_cfg(config: str, width: int = 32, depth: int = 2,
                    img_size: int = 224, projector: int = 128,
                    out: int = 32):
    """A published pre-training config with a tiny ViT and projector."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'conmim', config))
    cfg.model.backbone.arch = dict(
        embed_dims=width, num_layers=depth, num_heads=2,
        feedforward_channels=4 * width)
    cfg.model.backbone.img_size = img_size
    cfg.model.neck.update(
        in_channels=width, hid_channels=projector, out_channels=out)
    return cfg


def build_conmim(cfg):
    """Build and initialise the ConMIM model of ``cfg``."""
    import conmim_mm  # noqa: F401
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def train_mode(model):
    """``model.train()``, with the test as the declared teacher updater
    (``ConMIM.loss`` refuses to train without one)."""
    model.train()
    model.follow_student_with('the test')
    return model


def set_iteration(cur_iter: int, max_iters: int) -> None:
    """Put ``iter`` / ``max_iters`` into the current MessageHub."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', cur_iter)
    hub.update_info('max_iters', max_iters)
