"""conmim_mm.launch: tools/train.py makes any config's CheckpointHook write
atomically, unless the config chose where and how it writes."""
from mmengine.config import Config

from conmim_mm.launch import add_default_hooks


def _checkpoint_hook_after_defaults(**settings) -> dict:
    cfg = Config(dict(default_hooks=dict(
        checkpoint=dict(type='CheckpointHook', **settings))))
    add_default_hooks(cfg)
    return cfg.default_hooks.checkpoint.to_dict()


def test_checkpoint_hook_gets_the_atomic_backend():
    assert _checkpoint_hook_after_defaults(interval=1) == dict(
        type='CheckpointHook', interval=1,
        backend_args=dict(backend='atomic_local'))


def test_a_chosen_backend_or_remote_folder_is_kept():
    for own in (dict(backend_args=dict(backend='petrel')),
                dict(file_client_args=dict(backend='disk')),
                dict(out_dir='s3://bucket/checkpoints')):
        assert _checkpoint_hook_after_defaults(**own) == dict(
            type='CheckpointHook', **own)
