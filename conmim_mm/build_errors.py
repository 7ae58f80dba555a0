"""Config mistakes that the libraries catch while building a run, as one line.

mmengine, mmpretrain, mmseg and mmdet check a config only when they build
from it: the runner builds the model, the hooks and the visualizer at
construction, and the loops with their data loaders, the optimizer wrapper
and the schedulers when it trains or tests. Our tools build those parts one
after the other through mmengine's public ``Runner`` API, each inside
:func:`building`, which turns a ``ValueError``, ``TypeError``, ``KeyError``
(an unknown registry type) or ``AssertionError`` into a
:class:`~conmim_mm.errors.ConfigError` naming the part: ``<message>
(<config fields>)``. The same exception raised in a training iteration is a
bug and keeps its traceback.

A package the environment lacks (mmseg, mmdet, mmcv's compiled ops: the
default environment has mmcv-lite) is reported with the command that installs
it (:func:`missing_package`).
"""
import re
import traceback
from contextlib import contextmanager
from typing import Dict, Iterator, Optional

from .errors import ConfigError, MissingPackageError

#: Exception types that, raised while a part is built, mean a config mistake.
CONFIG_ERRORS = (ValueError, TypeError, KeyError, AssertionError)


def error_message(err: BaseException) -> str:
    """``err``'s message in one line, or where it was raised if empty.

    Args:
        err (BaseException): A raised exception.

    Returns:
        str: E.g. ``'size must be at most 10, got 11'`` or
        ``'AssertionError at /path/x.py:12'``.
    """
    if isinstance(err, KeyError) and len(err.args) == 1:
        text = str(err.args[0])  # str(KeyError) adds quotes
    else:
        text = str(err)
    text = ' '.join(text.split())
    if text:
        return text
    frame = traceback.extract_tb(err.__traceback__)[-1]
    return f'{type(err).__name__} at {frame.filename}:{frame.lineno}'


#: The registries (as mmengine's "not in the ... registry" message names
#: them) the runner builds from at construction -> the config field.
RUNNER_FIELDS = {
    'model': 'model',
    'model_wrapper': 'model_wrapper_cfg',
    'hook': 'custom_hooks',
    'visualizer': 'visualizer',
    'vis_backend': 'visualizer',
    'log_processor': 'log_processor',
}


def registry_field(message: str, fields: Dict[str, str]) -> Optional[str]:
    """The config field of an unknown type, from mmengine's message.

    Args:
        message (str): E.g. ``'Foo is not in the mmpretrain::model
            registry. ...'``.
        fields (dict[str, str]): Registry name -> config field.

    Returns:
        str | None: The field, or None if the message names no registry of
        ``fields``.
    """
    found = re.search(r'is not in the (?:\w+::)?([\w ]+) registry', message)
    return fields.get(found.group(1)) if found else None


@contextmanager
def building(fields: str,
             registries: Optional[Dict[str, str]] = None) -> Iterator[None]:
    """Raise a config mistake met while building ``fields`` as one line.

    Args:
        fields (str): The config fields the part is built from, e.g.
            ``'optim_wrapper'``.
        registries (dict[str, str], optional): For an unknown type, the
            field of its registry (:func:`registry_field`) replaces
            ``fields``.

    Raises:
        ConfigError: ``'<message> (<fields>)'`` for a
            :data:`CONFIG_ERRORS` raised inside the block (our own
            :class:`ConfigError` and its kind pass unchanged).
    """
    try:
        yield
    except ConfigError:
        raise
    except CONFIG_ERRORS as err:
        message = error_message(err)
        field = registry_field(message, registries or {}) or fields
        raise ConfigError(f'{message} ({field})') from err


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
