"""Checkpoints load weights-only; foreign pickles are refused in one line."""
import os
import os.path as osp
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner import CheckpointLoader

import conmim_mm  # noqa: F401
from conmim_mm.checkpoints import (check_plain, convert_mmengine_checkpoint,
                                   load_checkpoint_file,
                                   message_hub_from_plain, to_plain,
                                   unsafe_checkpoint_message)
from conmim_mm.errors import UnsafeCheckpointError


class Payload:
    """Unpickling this would create ``marker`` by calling ``os.mkdir``."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker, )


def _message_hub_state(name: str) -> dict:
    hub = MessageHub.get_instance(name)
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float32(1.25))
    hub.update_info('iter', 3)
    hub.update_info('val/accuracy', np.float64(0.5))
    return hub.state_dict()


def _runner_like_checkpoint(name: str) -> dict:
    return {
        'meta': {'seed': np.int64(7), 'iter': 3, 'cfg': 'x = 1'},
        'state_dict': OrderedDict(w=torch.arange(3.)),
        'message_hub': _message_hub_state(name),
    }


def test_mmengine_checkpoints_are_refused_by_plain_weights_only_load(
        tmp_path):
    """The problem this module solves, measured with the pinned stack."""
    path = str(tmp_path / 'foreign.pth')
    torch.save(_runner_like_checkpoint('refused'), path)
    with pytest.raises(Exception, match='Unsupported global'):
        torch.load(path, weights_only=True)


def test_check_plain_names_the_offending_entry():
    with pytest.raises(TypeError, match=r"checkpoint\['meta'\]\['obj'\]"):
        check_plain({'meta': {'obj': Payload('x')}})
    assert message_hub_from_plain(None) is None


def test_payload_is_refused_with_one_line_error(tmp_path):
    marker = str(tmp_path / 'payload_ran')
    path = str(tmp_path / 'payload.pth')
    torch.save({'state_dict': {}, 'meta': Payload(marker)}, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint_file(path)
    message = str(info.value)
    assert '\n' not in message
    assert 'posix.mkdir' in message and path in message
    assert not osp.exists(marker)
    # mmengine's own loader (resume, load_from, init_cfg Pretrained) loads
    # weights-only too (torch >= 2.6); the tools word its refusal alike
    with pytest.raises(pickle.UnpicklingError) as info:
        CheckpointLoader.load_checkpoint(path)
    assert not osp.exists(marker)
    message = unsafe_checkpoint_message(info.value, path)
    assert '\n' not in message
    assert message.startswith(f'refusing to load {path}: it holds '
                              '`posix.mkdir`')
    assert message.endswith(
        f'convert it once with `python tools/model_converters/'
        f'safe_checkpoint.py {path} OUT.pth`')


def test_missing_checkpoint_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))


def test_convert_foreign_mmengine_checkpoint(tmp_path):
    src, dst = str(tmp_path / 'foreign.pth'), str(tmp_path / 'plain.pth')
    torch.save(_runner_like_checkpoint('convert'), src)
    convert_mmengine_checkpoint(src, dst)
    loaded = load_checkpoint_file(dst)
    assert loaded['meta']['seed'] == 7
    history = loaded['message_hub']['log_scalars']['train/loss']
    assert history['log_history'] == [1.5, 1.25]
    assert history['count_history'] == [1, 1]
    assert loaded['message_hub']['runtime_info']['val/accuracy'] == 0.5
    assert torch.equal(loaded['state_dict']['w'], torch.arange(3.))


def test_convert_refuses_payload(tmp_path):
    marker = str(tmp_path / 'payload_ran')
    src = str(tmp_path / 'payload.pth')
    torch.save({'meta': Payload(marker)}, src)
    with pytest.raises(UnsafeCheckpointError, match='posix.mkdir'):
        convert_mmengine_checkpoint(src, str(tmp_path / 'out.pth'))
    assert not osp.exists(marker)


def test_to_plain_converts_numpy():
    plain = to_plain({'a': np.arange(3), 'b': [np.float32(2.5), (1, 'x')]})
    assert torch.equal(plain['a'], torch.arange(3))
    assert plain['b'] == [2.5, (1, 'x')]
