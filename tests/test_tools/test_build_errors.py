"""conmim_mm.build_errors and run_cli: which failures become one line."""
import inspect

import pytest
from mmengine.registry import Registry, build_from_cfg

from conmim_mm.build_errors import (build_field, describe_build_error,
                                    missing_package)
from conmim_mm.errors import MissingPackageError
from conmim_mm.launch import run_cli

THINGS = Registry('thing', scope='test')


@THINGS.register_module()
class Thing:

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise AssertionError  # as a bare assert does (no message)
        if size > 10:
            raise ValueError(f'size must be at most 10, got {size}')


@pytest.mark.parametrize('builds,field', [
    (['build_param_scheduler', 'build_from_cfg'], 'param_scheduler'),
    (['build_train_loop', 'build_from_cfg', 'build_dataloader',
      'build_from_cfg'], 'train_dataloader'),
    (['build_test_loop', 'build_dataloader'], 'test_dataloader'),
    (['build_val_loop', 'build_evaluator'], 'val_evaluator'),
    (['from_cfg', '__init__', 'build_model', 'build_from_cfg',
      'build_from_cfg'], 'model'),
    (['build_train_loop', 'build_from_cfg'], 'train_cfg'),
    (['__init__', 'register_custom_hooks'], 'custom_hooks'),
    # a loader built outside a loop (a hook's), or a bare registry build
    (['build_dataloader'], None),
    (['build_from_cfg'], None),
])
def test_the_innermost_runner_build_names_the_field(builds, field):
    assert build_field(builds) == field


def _raised(function):
    try:
        function()
    except Exception as err:  # noqa: B902
        return err
    raise AssertionError('nothing raised')


def test_errors_under_a_registry_build_are_described():
    unknown = _raised(lambda: build_from_cfg(dict(type='Thin'), THINGS))
    assert describe_build_error(unknown).startswith(
        'Thin is not in the test::thing registry.')
    too_big = _raised(lambda: build_from_cfg(dict(type='Thing', size=11),
                                             THINGS))
    assert describe_build_error(too_big) == 'size must be at most 10, got 11'
    # an assertion without a message says where it failed
    negative = _raised(lambda: build_from_cfg(dict(type='Thing', size=-1),
                                              THINGS))
    line = inspect.getsourcelines(Thing.__init__)[1] + 2
    assert describe_build_error(negative) == \
        f'AssertionError at {__file__}:{line}'


def test_errors_outside_a_build_are_not():
    assert describe_build_error(_raised(lambda: Thing(size=11))) is None
    # under a build, but not a config mistake's type
    assert describe_build_error(_raised(lambda: build_from_cfg(
        dict(type=lambda: 1 / 0), THINGS))) is None


@pytest.mark.parametrize('err,what', [
    (ModuleNotFoundError("No module named 'mmseg'", name='mmseg'),
     'mmsegmentation (mmseg)'),
    (ModuleNotFoundError("No module named 'mmdet.models'",
                         name='mmdet.models'), 'mmdetection (mmdet)'),
    (ModuleNotFoundError("No module named 'mmcv._ext'", name='mmcv._ext'),
     "mmcv's compiled ops (mmcv.ops; mmcv-lite has none)"),
    (ModuleNotFoundError('mmsegmentation is not installed, please install '
                         'mmsegmentation manually'),
     'mmsegmentation (mmseg)'),
])
def test_missing_packages_name_the_install_command(err, what):
    missing = missing_package(err, needed_by='x.py')
    assert isinstance(missing, MissingPackageError)
    assert str(missing) == (f'x.py needs {what}, which is not installed: '
                            'install it with `make setup-full`')


def test_other_missing_modules_are_not_ours():
    assert missing_package(
        ModuleNotFoundError("No module named 'mmsegx'", name='mmsegx')) is None
    assert missing_package(ValueError('mmseg is not installed')) is None


def _fail(err):
    def main():
        raise err
    return main


def test_run_cli_prints_one_line_for_input_errors(capsys, monkeypatch):
    monkeypatch.delenv('CONMIM_DEBUG', raising=False)
    with pytest.raises(SystemExit) as exit_:
        run_cli(_fail(ModuleNotFoundError("No module named 'mmcv._ext'",
                                          name='mmcv._ext')))
    assert exit_.value.code == 1
    assert capsys.readouterr().err == (
        "error: this run needs mmcv's compiled ops (mmcv.ops; mmcv-lite has "
        'none), which is not installed: install it with `make setup-full`\n')


def test_run_cli_keeps_the_traceback_of_bugs_and_in_debug(monkeypatch):
    monkeypatch.delenv('CONMIM_DEBUG', raising=False)
    # a ValueError outside any build is a bug
    with pytest.raises(ValueError, match='size must be at most 10'):
        run_cli(lambda: Thing(size=11))
    build = lambda: build_from_cfg(dict(type='Thing', size=11), THINGS)  # noqa
    with pytest.raises(ValueError):
        run_cli(build, debug=True)
    monkeypatch.setenv('CONMIM_DEBUG', '1')
    with pytest.raises(ValueError):
        run_cli(build)
