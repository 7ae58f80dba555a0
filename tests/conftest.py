"""Shared fixtures: the tiny labelled image folder, the tiny ConMIM models
and checkpoint, the fake ADE20K/COCO data, and the one uninterrupted
training run that every exact-resume check compares against. The tool runs
that tests read (``common.background_run``) start in the background once
the tests are collected.

Plain helpers (paths, ``run_tool``, ``tiny_conmim_cfg``, ...) live in
``tests/helpers/common.py``; the names below are re-exported for the tests
that still import them from here.

Tests marked ``full_stack`` need mmsegmentation, mmdet and mmcv's compiled
ops (``make setup-full``); the others run on the default environment too
(``make test-default``: ``pytest -m "not full_stack"``).
"""
import copy

import cv2
import numpy as np
import pytest

import common
from common import (BACKGROUND, CONFIGS, FAULTS, HELPERS,  # noqa: F401
                    REFERENCE_OPTIONS, ROOT, background_run, build_conmim,
                    data_options, has_full_stack, mmpretrain_train_script,
                    run_tool, set_iteration, tiny_conmim_cfg, train_command,
                    train_mode)


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
    if config.option.collectonly:
        return
    # The files that read background runs go last, in their order, so that
    # the runs go on beside the other files' tests; the runs start in the
    # order those files need them.
    readers = {item.path for item in items if _runs(item)}
    items.sort(key=lambda item: item.path in readers)  # stable
    needed = []
    for item in items:
        needed += [name for name in _runs(item) if name not in needed]
    if needed:
        BACKGROUND.start(needed)


def _runs(item) -> list:
    """The background runs a test reads: its fixtures, or a parameter
    ``run`` naming one (read with request.getfixturevalue)."""
    names = list(getattr(item, 'fixturenames', ()))
    callspec = getattr(item, 'callspec', None)
    if callspec is not None and isinstance(callspec.params.get('run'), str):
        names.append(callspec.params['run'])
    return [name for name in names if name in BACKGROUND.commands]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test keeps the work dirs of the background runs it read."""
    report = yield
    if report.failed:
        BACKGROUND.keep.update(_runs(item))
    return report


def pytest_sessionfinish(session, exitstatus) -> None:
    """Stop the background runs; only the work dirs of those that a failed
    test read are kept (as the tests' own, tmp_path_retention_policy)."""
    BACKGROUND.stop()


def pytest_terminal_summary(terminalreporter) -> None:
    """Where the work dirs of background runs were kept (failed tests)."""
    if BACKGROUND.keep and BACKGROUND.root is not None:
        terminalreporter.write_line(
            'work dirs of the background runs that failed tests read: '
            f'{BACKGROUND.root}/{{{",".join(sorted(BACKGROUND.keep))}}}')


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


@pytest.fixture(scope='session')
def tiny_conmim():
    """``tiny_conmim(config='vit-b_800e.py', **sizes)``: the initialised
    model of :func:`common.tiny_conmim_cfg`, built once per session and
    settings (:func:`common.seeded_conmim`: weights from
    ``torch.manual_seed(0)``, whatever the test's random state, which it
    leaves alone); every call returns a fresh copy that the test may train
    or change."""
    from mmengine.registry import init_default_scope
    built = {}

    def make(config: str = 'vit-b_800e.py', **sizes):
        key = (config, tuple(sorted(sizes.items())))
        if key not in built:
            built[key] = common.seeded_conmim(config, **sizes)
        init_default_scope('mmpretrain')
        return copy.deepcopy(built[key])

    return make


@pytest.fixture(scope='session')
def pretrained_conmim():
    """:func:`common.pretrained_conmim`: ``(model, path)`` of a tiny raw
    ConMIM checkpoint with a teacher unlike its student. Tests must not
    change the model."""
    return common.pretrained_conmim()


@pytest.fixture(scope='session')
def dense_data():
    """The fake ADE20K and COCO data of :func:`common.write_dense_data`."""
    return common.dense_data()


@background_run()
def reference_run(work_dir):
    """The uninterrupted run that every exact-resume check compares with.

    tests/data/configs/demo_faults.py (the demo's model and optimizer,
    deterministic, 12 iterations of batch 4) through tools/train.py in one
    process with two data-loader workers (``common.REFERENCE_OPTIONS``; a
    run compared with it uses them too), no fault injected, a checkpoint
    after every iteration: ``.work_dir`` (``iter_1.pth`` ... ``iter_12.pth``)
    and ``.log``.
    """
    return train_command(FAULTS, work_dir, *REFERENCE_OPTIONS,
                         'default_hooks.checkpoint.interval=1'), {}
