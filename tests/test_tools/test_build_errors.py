"""conmim_mm.build_errors and run_cli: which failures become one line."""
import inspect

import pytest
from mmengine.registry import Registry, build_from_cfg

from conmim_mm.build_errors import (RUNNER_FIELDS, building, error_message,
                                    missing_package)
from conmim_mm.errors import ConfigError, MissingPackageError
from conmim_mm.launch import run_cli

THINGS = Registry('thing', scope='test')


@THINGS.register_module()
class Thing:

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise AssertionError  # as a bare assert does (no message)
        if size > 10:
            raise ValueError(f'size must be at most 10, got {size}')


def _raised(function):
    try:
        function()
    except Exception as err:  # noqa: B902
        return err
    raise AssertionError('nothing raised')


def _built(fields: str, function):
    def build():
        with building(fields, RUNNER_FIELDS):
            function()
    return _raised(build)


def _raise(err):
    raise err


def test_config_mistakes_while_building_name_the_fields():
    unknown = _built('model', lambda: build_from_cfg(dict(type='Thin'),
                                                     THINGS))
    assert isinstance(unknown, ConfigError)
    assert str(unknown).startswith('Thin is not in the test::thing registry.')
    assert str(unknown).endswith(' (model)')
    too_big = _built('train_dataloader', lambda: build_from_cfg(
        dict(type='Thing', size=11), THINGS))
    assert str(too_big).endswith(
        'size must be at most 10, got 11 (train_dataloader)')
    # an assertion without a message says where it failed
    negative = _built('optim_wrapper', lambda: Thing(size=-1))
    line = inspect.getsourcelines(Thing.__init__)[1] + 2
    assert str(negative) == \
        f'AssertionError at {__file__}:{line} (optim_wrapper)'


def test_an_unknown_type_names_the_field_of_its_registry():
    hook = _built('building the runner', lambda: _raise(KeyError(
        'HookX is not in the mmpretrain::hook registry. Please check')))
    assert str(hook).endswith(' (custom_hooks)')
    other = _built('building the runner', lambda: _raise(ValueError('bad')))
    assert str(other) == 'bad (building the runner)'


def test_other_errors_and_ours_pass_unchanged():
    assert isinstance(_built('model', lambda: 1 / 0), ZeroDivisionError)
    ours = ConfigError('model.neck.in_channels=3 must equal 32')
    assert _built('model', lambda: _raise(ours)) is ours


def test_error_message_is_one_line():
    assert error_message(KeyError('a\n  b')) == 'a b'
    assert error_message(ValueError('x\n\ny')) == 'x y'


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


def test_run_cli_prints_one_line_for_input_errors(capsys, monkeypatch):
    monkeypatch.delenv('CONMIM_DEBUG', raising=False)
    with pytest.raises(SystemExit) as exit_:
        run_cli(lambda: _raise(ModuleNotFoundError(
            "No module named 'mmcv._ext'", name='mmcv._ext')))
    assert exit_.value.code == 1
    assert capsys.readouterr().err == (
        "error: this run needs mmcv's compiled ops (mmcv.ops; mmcv-lite has "
        'none), which is not installed: install it with `make setup-full`\n')


def test_run_cli_keeps_the_traceback_of_bugs_and_in_debug(monkeypatch):
    monkeypatch.delenv('CONMIM_DEBUG', raising=False)
    # a ValueError outside any build is a bug
    with pytest.raises(ValueError, match='size must be at most 10'):
        run_cli(lambda: Thing(size=11))

    def build():
        with building('model'):
            Thing(size=11)
    with pytest.raises(ConfigError):
        run_cli(build, debug=True)
    monkeypatch.setenv('CONMIM_DEBUG', '1')
    with pytest.raises(ConfigError):
        run_cli(build)
