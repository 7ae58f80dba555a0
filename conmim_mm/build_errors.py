"""Config mistakes that the libraries catch while building a run, as one line.

mmengine, mmpretrain, mmseg and mmdet check a config only when they build
from it: the runner builds the model at construction and the data loaders,
optimizer wrapper and schedulers at the start of ``train()``/``test()``,
each through registries. A ``ValueError``, ``TypeError``, ``KeyError`` (an
unknown registry type) or ``AssertionError`` raised under one of those
builds is a config mistake: :func:`describe_build_error` turns it into
``<message> (<config field>)``. The same exception raised elsewhere (in a
training iteration, say) is a bug and keeps its traceback.

A package the environment lacks (mmseg, mmdet, mmcv's compiled ops: the
default environment has mmcv-lite) is reported with the command that installs
it (:func:`missing_package`).
"""
import inspect
import re
from types import CodeType, FrameType
from typing import Dict, Iterator, List, Optional, Tuple

from mmengine.registry import build_functions
from mmengine.runner import Runner

from .errors import MissingPackageError

#: Runner methods that build from the config -> the field they read; a
#: ``{}`` is the loop's phase (train/val/test), ``None`` an unknown field.
BUILD_FIELDS = {
    '__init__': None,
    'from_cfg': None,
    'build_visualizer': 'visualizer',
    'build_model': 'model',
    'wrap_model': 'model_wrapper_cfg',
    'build_optim_wrapper': 'optim_wrapper',
    'build_param_scheduler': 'param_scheduler',
    'build_evaluator': '{}_evaluator',
    'build_dataloader': '{}_dataloader',
    'build_train_loop': 'train_cfg',
    'build_val_loop': 'val_cfg',
    'build_test_loop': 'test_cfg',
    'build_log_processor': 'log_processor',
    'register_default_hooks': 'default_hooks',
    'register_custom_hooks': 'custom_hooks',
}
_PHASES = dict(build_train_loop='train', build_val_loop='val',
               build_test_loop='test')
#: Exception types that, raised under a build, mean a config mistake.
CONFIG_ERRORS = (ValueError, TypeError, KeyError, AssertionError)


def _code(name: str) -> CodeType:
    attr = inspect.getattr_static(Runner, name)
    return getattr(attr, '__func__', attr).__code__


_BUILDERS: Dict[CodeType, str] = {_code(name): name for name in BUILD_FIELDS}
_BUILDERS[build_functions.build_from_cfg.__code__] = 'build_from_cfg'


def _walk(err: BaseException) -> Iterator[Tuple[FrameType, int]]:
    """(frame, line) of the traceback of ``err``, outermost first."""
    tb = err.__traceback__
    while tb is not None:
        yield tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next


def _builds(err: BaseException) -> List[str]:
    """The build functions ``err`` passed through, outermost first."""
    frames = [frame.f_code for frame, _ in _walk(err)]
    return [_BUILDERS[code] for code in frames if code in _BUILDERS]


def build_field(builds: List[str]) -> Optional[str]:
    """The config field the innermost Runner build reads.

    Args:
        builds (list[str]): Build functions, outermost first (names of
            :data:`BUILD_FIELDS`, or ``'build_from_cfg'``).

    Returns:
        str | None: e.g. ``'train_dataloader'``; None if not known.
    """
    for depth in range(len(builds) - 1, -1, -1):
        field = BUILD_FIELDS.get(builds[depth])
        if field is None:
            continue
        if '{}' not in field:
            return field
        phase = next((_PHASES[b] for b in reversed(builds[:depth])
                      if b in _PHASES), None)
        return field.format(phase) if phase else None
    return None


def _message(err: BaseException) -> str:
    """``err``'s message in one line, or where it was raised if empty."""
    if isinstance(err, KeyError) and len(err.args) == 1:
        text = str(err.args[0])  # str(KeyError) adds quotes
    else:
        text = str(err)
    text = ' '.join(text.split())
    if text:
        return text
    frame, line = list(_walk(err))[-1]
    return f'{type(err).__name__} at {frame.f_code.co_filename}:{line}'


def describe_build_error(err: BaseException) -> Optional[str]:
    """One line for a config mistake caught while building a run.

    Args:
        err (BaseException): A raised exception.

    Returns:
        str | None: ``'<message> (<field>)'`` (without the field if unknown)
        for a :data:`CONFIG_ERRORS` raised under a build; None for any other
        exception.
    """
    if not isinstance(err, CONFIG_ERRORS):
        return None
    builds = _builds(err)
    if not builds:
        return None
    field = build_field(builds)
    return _message(err) + (f' ({field})' if field else '')


#: Missing modules, or distributions as mmengine names them for a
#: ``<scope>::`` base config -> what to call them in the message.
OPTIONAL_PACKAGES = {
    'mmseg': 'mmsegmentation (mmseg)',
    'mmsegmentation': 'mmsegmentation (mmseg)',
    'mmdet': 'mmdetection (mmdet)',
    'mmcv._ext': "mmcv's compiled ops (mmcv.ops; mmcv-lite has none)",
    'mmcv.ops': "mmcv's compiled ops (mmcv.ops; mmcv-lite has none)",
}


def missing_package(err: BaseException,
                    needed_by: str = 'this run'
                    ) -> Optional[MissingPackageError]:
    """The :class:`MissingPackageError` for a module ``make setup-full``
    installs.

    Args:
        err (BaseException): A raised exception: a ``ModuleNotFoundError``
            for mmseg, mmdet or mmcv's ops, or mmengine's
            ``'<package> is not installed'`` for a ``<package>::`` base
            config.
        needed_by (str): What needs the package (e.g. the config path).
            Defaults to ``'this run'``.

    Returns:
        MissingPackageError | None: None for any other exception.
    """
    if not isinstance(err, ModuleNotFoundError):
        return None
    name = err.name
    if name is None:
        found = re.match(r'(\S+) is not installed', str(err))
        name = found and found.group(1)
    if name is None:
        return None
    for module, what in OPTIONAL_PACKAGES.items():
        if name == module or name.startswith(module + '.'):
            return MissingPackageError(
                f'{needed_by} needs {what}, which is not installed: install '
                'it with `make setup-full`')
    return None
