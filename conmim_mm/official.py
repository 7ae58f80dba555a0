"""Key layouts of the official ConMIM pre-training checkpoints and ours.

Official (github TencentARC/ConMIM, BEiT code base): the student is saved as
``checkpoint-N.pth`` and the momentum teacher as ``checkpoint_copy-N.pth``,
each ``{'model': state_dict}`` with BEiT key names (``blocks.i.norm1``,
``blocks.i.mlp.fc1``, ``patch_embed.proj``, shared ``rel_pos_bias``,
``projectors.{0,1,3,4,6,7}``) and an unused ``lm_head``. Ours: one state dict
with ``backbone.*`` / ``neck.*`` (student) and ``teacher.backbone.*`` /
``teacher.neck.*`` (teacher), mmpretrain ``BEiTPretrainViT`` and
``NonLinearNeck`` names.
"""
import re
from typing import Dict, List, Optional, Tuple

import torch

from .checkpoint import CheckpointFormatError

StateDict = Dict[str, torch.Tensor]

# (official pattern, ours) for one network without prefix; tried in order.
_RENAMES: List[Tuple[str, str]] = [
    (r'^patch_embed\.proj\.', 'backbone.patch_embed.projection.'),
    (r'^blocks\.(\d+)\.norm1\.', r'backbone.layers.\1.ln1.'),
    (r'^blocks\.(\d+)\.norm2\.', r'backbone.layers.\1.ln2.'),
    (r'^blocks\.(\d+)\.mlp\.fc1\.', r'backbone.layers.\1.ffn.layers.0.0.'),
    (r'^blocks\.(\d+)\.mlp\.fc2\.', r'backbone.layers.\1.ffn.layers.1.'),
    (r'^blocks\.(\d+)\.(gamma_1|gamma_2|attn\.)', r'backbone.layers.\1.\2'),
    (r'^norm\.', 'backbone.ln1.'),
    (r'^(cls_token|mask_token|rel_pos_bias\.)', r'backbone.\1'),
    (r'^projectors\.0\.', 'neck.fc0.'),
    (r'^projectors\.1\.', 'neck.bn0.'),
    (r'^projectors\.3\.', 'neck.fc1.'),
    (r'^projectors\.4\.', 'neck.bn1.'),
    (r'^projectors\.6\.', 'neck.fc2.'),
    (r'^projectors\.7\.', 'neck.bn2.'),
]
# official -> ours, inverted: (our pattern, official)
_INVERSE: List[Tuple[str, str]] = [
    (r'^backbone\.patch_embed\.projection\.', 'patch_embed.proj.'),
    (r'^backbone\.layers\.(\d+)\.ln1\.', r'blocks.\1.norm1.'),
    (r'^backbone\.layers\.(\d+)\.ln2\.', r'blocks.\1.norm2.'),
    (r'^backbone\.layers\.(\d+)\.ffn\.layers\.0\.0\.', r'blocks.\1.mlp.fc1.'),
    (r'^backbone\.layers\.(\d+)\.ffn\.layers\.1\.', r'blocks.\1.mlp.fc2.'),
    (r'^backbone\.layers\.(\d+)\.(gamma_1|gamma_2|attn\.)', r'blocks.\1.\2'),
    (r'^backbone\.ln1\.', 'norm.'),
    (r'^backbone\.(cls_token|mask_token|rel_pos_bias\.)', r'\1'),
    (r'^neck\.fc0\.', 'projectors.0.'),
    (r'^neck\.bn0\.', 'projectors.1.'),
    (r'^neck\.fc1\.', 'projectors.3.'),
    (r'^neck\.bn1\.', 'projectors.4.'),
    (r'^neck\.fc2\.', 'projectors.6.'),
    (r'^neck\.bn2\.', 'projectors.7.'),
]
#: Official keys that have no counterpart (the unused 8192-way head).
DROPPED_OFFICIAL = re.compile(r'^lm_head\.')
#: Keys every official pre-training checkpoint has.
REQUIRED_OFFICIAL = ('cls_token', 'mask_token', 'patch_embed.proj.weight',
                     'blocks.0.attn.qkv.weight', 'projectors.0.weight')


def _rename(key: str, rules: List[Tuple[str, str]]) -> Optional[str]:
    for pattern, replacement in rules:
        new_key, count = re.subn(pattern, replacement, key)
        if count:
            return new_key
    return None


def official_model_state(checkpoint: dict, path: str) -> StateDict:
    """The ``model`` state dict of an official checkpoint, checked.

    Args:
        checkpoint (dict): A loaded official checkpoint.
        path (str): Its file name, for error messages.

    Returns:
        dict[str, Tensor]: The network's state dict.
    """
    state = checkpoint.get('model', checkpoint) if isinstance(
        checkpoint, dict) else None
    missing = [k for k in REQUIRED_OFFICIAL if k not in (state or {})]
    if missing:
        raise CheckpointFormatError(
            f'{path} is not an official ConMIM pre-training checkpoint: '
            f'expected a `model` dict with keys {list(REQUIRED_OFFICIAL)}, '
            f'missing {missing}')
    return state


def official_to_conmim(student: StateDict,
                       teacher: Optional[StateDict] = None) -> StateDict:
    """Official student (and teacher) state dicts -> one ConMIM state dict.

    Args:
        student (dict): Official student ``model`` state dict.
        teacher (dict, optional): Official momentum copy; the student is
            used when it is None (a fresh teacher is an exact copy).

    Returns:
        dict[str, Tensor]: ``backbone.*``, ``neck.*``, ``teacher.backbone.*``
        and ``teacher.neck.*`` entries.
    """
    converted = {}
    for prefix, source in (('', student),
                           ('teacher.', student if teacher is None else teacher)):
        for key, value in source.items():
            if DROPPED_OFFICIAL.match(key):
                continue
            new_key = _rename(key, _RENAMES)
            if new_key is None:
                raise CheckpointFormatError(
                    f'unexpected key {key!r} in an official ConMIM '
                    'checkpoint')
            converted[prefix + new_key] = value
    return converted


def conmim_to_official(state: StateDict,
                       vocab_size: int = 8192) -> Tuple[StateDict, StateDict]:
    """One ConMIM state dict -> official (student, teacher) state dicts.

    The official model also has an unused 8192-way ``lm_head``; it is
    written as zeros so the official code loads the files strictly.

    Args:
        state (dict): ConMIM model state dict.
        vocab_size (int): Rows of the official ``lm_head``. Defaults to 8192.

    Returns:
        tuple[dict, dict]: Student and momentum-copy ``model`` state dicts.
    """
    student, teacher = {}, {}
    for key, value in state.items():
        target = student
        if key.startswith('teacher.'):
            key, target = key[len('teacher.'):], teacher
        new_key = _rename(key, _INVERSE)
        if new_key is None:
            raise CheckpointFormatError(
                f'unexpected key {key!r} in a ConMIM checkpoint')
        target[new_key] = value
    if not teacher:
        raise CheckpointFormatError(
            'the ConMIM checkpoint has no teacher.* entries')
    for network in (student, teacher):
        width = network['cls_token'].shape[-1]
        network['lm_head.weight'] = torch.zeros(vocab_size, width)
        network['lm_head.bias'] = torch.zeros(vocab_size)
    return student, teacher
