"""Shared fixtures: paths, a tiny labelled image folder, a CLI runner."""
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
