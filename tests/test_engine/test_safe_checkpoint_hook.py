"""SafeCheckpointHook: runner checkpoints become plain data that plain
``torch.load(weights_only=True)`` reads, and come back whole."""
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from conmim_mm.checkpoints import check_plain
from conmim_mm.engine import SafeCheckpointHook


def _runner_like_checkpoint(name: str) -> dict:
    """What mmengine 0.10.7 saves: numpy scalars and HistoryBuffers."""
    hub = MessageHub.get_instance(name)
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float32(1.25))
    hub.update_info('iter', 3)
    hub.update_info('val/accuracy', np.float64(0.5))
    return {
        'meta': {'seed': np.int64(7), 'iter': 3, 'cfg': 'x = 1'},
        'state_dict': OrderedDict(w=torch.arange(3.)),
        'message_hub': hub.state_dict(),
    }


def test_roundtrip_keeps_message_hub(tmp_path):
    checkpoint = _runner_like_checkpoint('safe_hook_roundtrip')
    path = str(tmp_path / 'refused.pth')
    torch.save(checkpoint, path)
    with pytest.raises(Exception, match='Unsupported global'):
        torch.load(path, weights_only=True)  # the problem the hook solves

    hook = SafeCheckpointHook()
    hook.before_save_checkpoint(None, checkpoint)
    check_plain(checkpoint)
    assert checkpoint['meta']['seed'] == 7
    assert type(checkpoint['meta']['seed']) is int
    path = str(tmp_path / 'plain.pth')
    torch.save(checkpoint, path)

    loaded = torch.load(path, weights_only=True)  # plain torch, no allow-list
    hook.after_load_checkpoint(None, loaded)
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.data[0].tolist() == [1.5, 1.25]
    assert buffer.data[1].tolist() == [1, 1]
    hub = MessageHub.get_instance('safe_hook_roundtrip_restored')
    hub.load_state_dict(loaded['message_hub'])
    assert hub.get_scalar('train/loss').mean() == pytest.approx(1.375)
    assert hub.get_info('val/accuracy') == 0.5
    assert torch.equal(loaded['state_dict']['w'], torch.arange(3.))


def test_unknown_objects_are_named_before_saving():
    class Opaque:
        pass

    checkpoint = {'meta': {'thing': Opaque()}, 'state_dict': {}}
    with pytest.raises(TypeError, match=r"checkpoint\['meta'\]\['thing'\]"):
        SafeCheckpointHook().before_save_checkpoint(None, checkpoint)


def test_checkpoint_without_message_hub_loads():
    checkpoint = {'state_dict': {'w': torch.zeros(1)}}
    SafeCheckpointHook().after_load_checkpoint(None, checkpoint)
    assert set(checkpoint) == {'state_dict'}
