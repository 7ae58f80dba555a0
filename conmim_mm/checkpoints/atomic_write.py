"""Checkpoint files that exist complete or not at all.

A file is written under a temporary name in its own folder
(``.iter_400.pth.tmp-<pid>``), flushed to the disk, then renamed over its
real name, which is atomic: a full disk, any other write error or a kill
while saving never leaves a truncated ``iter_400.pth`` for a person or a
``--resume`` to pick up. On an error the temporary file is removed and a
:class:`~conmim_mm.errors.CheckpointWriteError` names the file.

* :func:`write_atomically`: bytes to a file, atomically;
* :func:`save_checkpoint_file`: ``torch.save`` through it (the converters);
* :class:`AtomicLocalBackend`: mmengine's local file backend writing through
  it, registered as ``'atomic_local'``; a ``CheckpointHook`` uses it with
  ``backend_args=dict(backend='atomic_local')`` (:data:`ATOMIC_BACKEND_ARGS`),
  as the configs of this package set.
"""
import contextlib
import io
import os
import os.path as osp
from pathlib import Path
from typing import Any, Union

import torch
from mmengine.fileio import LocalBackend, register_backend

from ..errors import CheckpointWriteError

#: ``backend_args`` for mmengine: write through :class:`AtomicLocalBackend`.
ATOMIC_BACKEND_ARGS = dict(backend='atomic_local')


def _fsync_folder(folder: str) -> None:
    """Flush a folder's entries (a rename in it) to the disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(data: Union[bytes, bytearray, memoryview],
                     path: Union[str, Path]) -> None:
    """Write ``data`` to ``path`` so that ``path`` is complete or untouched.

    The bytes go to ``.<name>.tmp-<pid>`` in the same folder (created if
    missing), are flushed with ``fsync`` and the file is renamed to
    ``path`` (replacing an earlier file of that name only then).

    Args:
        data (bytes | bytearray | memoryview): The file's content.
        path (str | Path): The file to write.

    Raises:
        CheckpointWriteError: If any step fails (e.g. ``No space left on
            device``); naming ``path`` and the reason. The temporary file
            is removed and ``path`` is as it was before.
    """
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    temp = osp.join(folder, f'.{osp.basename(path)}.tmp-{os.getpid()}')
    try:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            view = memoryview(data).cast('B')
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
        _fsync_folder(folder)
    except OSError as err:
        raise CheckpointWriteError(
            f'could not write {path} ({err.strerror or err}); no partial '
            'file is left') from err
    finally:
        with contextlib.suppress(OSError):
            os.remove(temp)


def save_checkpoint_file(obj: Any, path: Union[str, Path]) -> None:
    """``torch.save(obj, path)`` through :func:`write_atomically`.

    Args:
        obj (Any): What to save (a state dict, a checkpoint dict).
        path (str | Path): The file to write.

    Raises:
        CheckpointWriteError: As :func:`write_atomically`.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_atomically(buffer.getbuffer(), path)


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose writes are atomic.

    ``put`` and ``put_text`` go through :func:`write_atomically`; reading,
    listing and removing are ``LocalBackend``'s. mmengine's
    ``CheckpointHook`` and ``Runner.save_checkpoint`` write checkpoints with
    ``put``.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically.

        Args:
            obj (bytes): Data to be written.
            filepath (str | Path): The file to write.
        """
        write_atomically(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically.

        Args:
            obj (str): Text to be written.
            filepath (str | Path): The file to write.
            encoding (str): Its encoding. Defaults to 'utf-8'.
        """
        write_atomically(obj.encode(encoding), filepath)
