"""Atomic checkpoint files: a write replaces a file whole; a full disk while
saving (through mmengine's save path, the converters' helper or the backend's
text write) leaves the earlier file intact and no partial or temporary
file."""
import errno
import os

import pytest
import torch
from mmengine.runner.checkpoint import save_checkpoint

from conmim_mm.checkpoints import (ATOMIC_BACKEND_ARGS, AtomicLocalBackend,
                                   load_checkpoint_file, save_checkpoint_file,
                                   write_atomically)
from conmim_mm.errors import CheckpointWriteError
from faults import disk_full

WRITERS = {
    'mmengine save_checkpoint': lambda path: save_checkpoint(
        dict(w=torch.arange(1000.)), str(path),
        backend_args=ATOMIC_BACKEND_ARGS),
    'save_checkpoint_file': lambda path: save_checkpoint_file(
        dict(w=torch.arange(1000.)), path),
    'put_text': lambda path: AtomicLocalBackend().put_text('x' * 1000, path),
}


def test_a_write_creates_the_folder_and_replaces_the_file_whole(tmp_path):
    path = tmp_path / 'run' / 'iter_2.pth'
    write_atomically(b'first', path)
    write_atomically(b'second, longer', path)
    assert path.read_bytes() == b'second, longer'
    assert os.listdir(path.parent) == ['iter_2.pth']
    save_checkpoint(dict(w=torch.arange(3.)), str(path),
                    backend_args=ATOMIC_BACKEND_ARGS)
    assert load_checkpoint_file(str(path))['w'].tolist() == [0., 1., 2.]


@pytest.mark.parametrize('writer', sorted(WRITERS))
def test_full_disk_leaves_the_earlier_file_and_nothing_else(
        writer, tmp_path, monkeypatch):
    earlier = tmp_path / 'iter_2.pth'
    save_checkpoint_file(dict(w=torch.arange(4.)), earlier)
    before = earlier.read_bytes()
    monkeypatch.setattr(os, 'write', disk_full(os.write))
    for path in (tmp_path / 'iter_4.pth', earlier):  # a new file, a rewrite
        with pytest.raises(CheckpointWriteError) as err:
            WRITERS[writer](path)
        assert str(err.value) == (
            f'could not write {path} (No space left on device); no partial '
            'file is left')
        assert err.value.__cause__.errno == errno.ENOSPC
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ['iter_2.pth']
    assert earlier.read_bytes() == before
