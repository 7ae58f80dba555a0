"""Checkpoints that load with ``torch.load(weights_only=True)``.

torch >= 2.6 unpickles checkpoints in weights-only mode: only tensors and plain
Python containers and scalars are rebuilt, and a checkpoint naming any other
global (a class, a function) is refused. That is what keeps a checkpoint a
user hands us from executing code, so this module never turns it off. It
provides:

* :func:`load_checkpoint_file`: the weights-only loader of our tools, with a
  one-line error naming the offending type (mmengine's own loader, behind
  ``Runner.resume``, ``load_from`` and ``init_cfg=dict(type='Pretrained')``,
  calls ``torch.load`` without ``weights_only``, which torch >= 2.6 takes as
  weights-only; :func:`unsafe_checkpoint_message` words its refusal);
* :func:`to_plain` / :func:`check_plain`: turn the numpy scalars and
  ``HistoryBuffer`` objects that mmengine puts into a runner checkpoint into
  plain data at save time, and verify nothing else is left.
* :func:`message_hub_from_plain`: rebuild the ``HistoryBuffer`` objects at
  load time.
"""
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import Any, Callable, Optional, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from ..errors import UnsafeCheckpointError
from .atomic_write import save_checkpoint_file

#: Leaf types ``torch.load(weights_only=True)`` rebuilds without an allow-list.
PLAIN_LEAF_TYPES = (torch.Tensor, torch.Size, torch.dtype, torch.device, str,
                    bytes, bool, int, float, complex, type(None))

_HISTORY_KEYS = ('log_history', 'count_history', 'max_length')

_CONVERT_HINT = ('if it is a checkpoint written by mmengine outside '
                 'conmim_mm, convert it once with `python '
                 'tools/model_converters/safe_checkpoint.py {path} OUT.pth`')


def _offending_global(message: str) -> str:
    """Extract the refused global's name from torch's weights-only error."""
    for pattern in (r'GLOBAL ([\w.]+)', r"but got <class '([\w.]+)'>"):
        found = re.search(pattern, message)
        if found:
            return found.group(1)
    lines = [line for line in message.splitlines() if 'error' in line]
    return (lines or message.splitlines() or ['unknown content'])[-1].strip()


def load_checkpoint_file(filename: str,
                         map_location: Union[str, Callable, None] = None,
                         mmap: bool = False) -> Any:
    """Load a local checkpoint with ``weights_only=True``.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | callable, optional): As for :func:`torch.load`.
        mmap (bool): Memory-map the tensors (read lazily), as for
            :func:`torch.load`. Defaults to False.

    Returns:
        Any: The unpickled content (usually a dict).

    Raises:
        FileNotFoundError: If the file does not exist.
        UnsafeCheckpointError: If the file holds anything but tensors and
            plain data; the one-line message names the offending type.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True,
            mmap=mmap)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            unsafe_checkpoint_message(err, filename)) from None


def unsafe_checkpoint_message(err: pickle.UnpicklingError,
                              path: str = 'a checkpoint') -> str:
    """One line for a checkpoint a weights-only ``torch.load`` refused.

    Args:
        err (pickle.UnpicklingError): torch's refusal.
        path (str): The file, where known. Defaults to ``'a checkpoint'``.

    Returns:
        str: The refused type and the converter to run.
    """
    return (f'refusing to load {path}: it holds '
            f'`{_offending_global(str(err))}`, which is not a tensor or plain '
            'data, and unpickling it could run code; ' +
            _CONVERT_HINT.format(path=path if path != 'a checkpoint' else
                                 'CHECKPOINT'))


def history_to_plain(buffer: HistoryBuffer) -> dict:
    """``HistoryBuffer`` -> ``{'log_history', 'count_history', 'max_length'}``.

    Args:
        buffer (HistoryBuffer): A scalar history of mmengine's MessageHub.

    Returns:
        dict: Lists of Python numbers and the buffer's maximum length.
    """
    log_history, count_history = buffer.data
    return dict(
        log_history=np.asarray(log_history).tolist(),
        count_history=np.asarray(count_history).tolist(),
        max_length=int(buffer.max_length))


def to_plain(obj: Any) -> Any:
    """Recursively replace numpy values and ``HistoryBuffer`` objects.

    Numpy scalars become Python scalars, numpy arrays become tensors and
    history buffers become the dict of :func:`history_to_plain`; containers
    keep their type, anything else is returned as it is (see
    :func:`check_plain`).

    Args:
        obj (Any): A checkpoint or part of it.

    Returns:
        Any: The same structure made of plain data.
    """
    if isinstance(obj, HistoryBuffer):
        return history_to_plain(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj)
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, to_plain(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not hasattr(obj, '_fields'):
        return type(obj)(to_plain(v) for v in obj)
    return obj


def check_plain(obj: Any, path: str = 'checkpoint') -> None:
    """Raise if ``obj`` holds anything weights-only loading would refuse.

    Args:
        obj (Any): A checkpoint or part of it.
        path (str): Where ``obj`` sits, for the error message.

    Raises:
        TypeError: Naming the first offending key path and type.
    """
    if isinstance(obj, PLAIN_LEAF_TYPES):
        return
    if type(obj) in (dict, OrderedDict):
        for key, value in obj.items():
            check_plain(key, f'{path} key')
            check_plain(value, f'{path}[{key!r}]')
        return
    if type(obj) in (list, tuple, set):
        for i, value in enumerate(obj):
            check_plain(value, f'{path}[{i}]')
        return
    raise TypeError(f'{path} is a {type(obj).__module__}.'
                    f'{type(obj).__qualname__}, which a weights-only load '
                    'refuses; store it as tensors or plain Python data')


def message_hub_from_plain(state: Optional[dict]) -> Optional[dict]:
    """Rebuild the ``HistoryBuffer`` objects of a plain MessageHub state.

    Args:
        state (dict, optional): ``checkpoint['message_hub']`` as written by
            :func:`to_plain` (entries that are already buffers are kept).

    Returns:
        dict, optional: A state ``MessageHub.load_state_dict`` accepts.
    """
    if not state or 'log_scalars' not in state:
        return state
    scalars = OrderedDict()
    for key, value in state['log_scalars'].items():
        if isinstance(value, dict) and set(value) == set(_HISTORY_KEYS):
            value = HistoryBuffer(value['log_history'],
                                  value['count_history'], value['max_length'])
        scalars[key] = value
    return dict(state, log_scalars=scalars)


class _HistoryRecord:
    """Stand-in for ``HistoryBuffer`` when reading a foreign checkpoint.

    Unpickling fills its ``__dict__`` with the buffer's attributes; no code of
    mmengine runs.
    """


def _attribute_name(owner: Any, name: str) -> str:
    """Stand-in for ``getattr`` in a pickled ``HistoryBuffer``.

    mmengine pickles the buffer's statistics methods as
    ``getattr(HistoryBuffer, 'min')``; only the name is kept.
    """
    return name


def _foreign_allowlist() -> list:
    """Data constructors a checkpoint written by plain mmengine needs."""
    multiarray = np.core.multiarray
    numpy_dtypes = {type(np.dtype(code)) for code in '?bhilqBHILQefdgFDGSUV'}
    return [
        (_HistoryRecord, 'mmengine.logging.history_buffer.HistoryBuffer'),
        (_attribute_name, 'builtins.getattr'),
        multiarray.scalar, multiarray._reconstruct, np.ndarray, np.dtype,
        *numpy_dtypes
    ]


def _records_to_plain(obj: Any) -> Any:
    """Turn :class:`_HistoryRecord` stand-ins into ``HistoryBuffer``s."""
    if isinstance(obj, _HistoryRecord):
        # The record holds what mmengine pickled: HistoryBuffer.__getstate__
        # (mmengine 0.10.7, logging/history_buffer.py:211) returns the
        # buffer's own __dict__, so its private field names are the file
        # format; no mmengine object is read, and unpickling into a real
        # HistoryBuffer would run its __setstate__, which writes the file's
        # statistics methods into the class.
        state = vars(obj)
        return HistoryBuffer(state['_log_history'], state['_count_history'],
                             state['max_length'])
    if isinstance(obj, dict):
        return type(obj)((k, _records_to_plain(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_records_to_plain(v) for v in obj)
    return obj


def convert_mmengine_checkpoint(src: str, dst: str) -> dict:
    """Rewrite a checkpoint written by plain mmengine as plain data.

    Such checkpoints hold a pickled ``MessageHub`` state (``HistoryBuffer``
    objects, numpy arrays and scalars) that a weights-only load refuses. This
    reads them with the weights-only unpickler and a narrow allow-list: numpy's
    array and scalar constructors, and inert stand-ins for ``HistoryBuffer``
    and the ``getattr`` calls inside it. Any other global is still refused.

    Args:
        src (str): The foreign checkpoint.
        dst (str): Where to write the plain-data checkpoint.

    Returns:
        dict: The converted checkpoint, as written to ``dst``.

    Raises:
        UnsafeCheckpointError: If ``src`` holds something outside the
            allow-list.
        CheckpointWriteError: If ``dst`` cannot be written (nothing partial
            is left).
    """
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint {src} does not exist')
    try:
        with torch.serialization.safe_globals(_foreign_allowlist()):
            checkpoint = torch.load(src, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f'refusing to convert {src}: it holds '
            f'`{_offending_global(str(err))}`, which is neither plain data '
            'nor part of an mmengine checkpoint') from None
    checkpoint = to_plain(_records_to_plain(checkpoint))
    check_plain(checkpoint)
    save_checkpoint_file(checkpoint, dst)
    return checkpoint
