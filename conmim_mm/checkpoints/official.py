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

from ..errors import CheckpointFormatError

StateDict = Dict[str, torch.Tensor]

#: (official, ours) key prefixes of the ViT that the official pre-training
#: and fine-tuning models share, ``{i}`` a block index.
VIT_PREFIXES: List[Tuple[str, str]] = [
    ('patch_embed.proj.', 'backbone.patch_embed.projection.'),
    ('cls_token', 'backbone.cls_token'),
    ('blocks.{i}.norm1.', 'backbone.layers.{i}.ln1.'),
    ('blocks.{i}.norm2.', 'backbone.layers.{i}.ln2.'),
    ('blocks.{i}.mlp.fc1.', 'backbone.layers.{i}.ffn.layers.0.0.'),
    ('blocks.{i}.mlp.fc2.', 'backbone.layers.{i}.ffn.layers.1.'),
    ('blocks.{i}.attn.', 'backbone.layers.{i}.attn.'),
    ('blocks.{i}.gamma_1', 'backbone.layers.{i}.gamma_1'),
    ('blocks.{i}.gamma_2', 'backbone.layers.{i}.gamma_2'),
]
# (official, ours) key prefixes of one pre-training network; tried in order,
# in both directions.
_PREFIXES: List[Tuple[str, str]] = VIT_PREFIXES + [
    ('norm.', 'backbone.ln1.'),
    ('mask_token', 'backbone.mask_token'),
    ('rel_pos_bias.', 'backbone.rel_pos_bias.'),
    ('projectors.0.', 'neck.fc0.'),
    ('projectors.1.', 'neck.bn0.'),
    ('projectors.3.', 'neck.fc1.'),
    ('projectors.4.', 'neck.bn1.'),
    ('projectors.6.', 'neck.fc2.'),
    ('projectors.7.', 'neck.bn2.'),
]


def prefix_rules(prefixes: List[Tuple[str, str]],
                 source: int) -> List[Tuple[str, str]]:
    """(regex, replacement) pairs that rename keys from one layout to the
    other.

    Args:
        prefixes (list[tuple[str, str]]): (official, ours) key prefixes,
            ``{i}`` a block index.
        source (int): The column renamed from: 0 official, 1 ours.

    Returns:
        list[tuple[str, str]]: For :func:`rename_key`.
    """
    rules = []
    for pair in prefixes:
        pattern = '^' + re.escape(pair[source]).replace(r'\{i\}', r'(\d+)')
        rules.append((pattern, pair[1 - source].replace('{i}', r'\1')))
    return rules


_RENAMES = prefix_rules(_PREFIXES, 0)  # official -> ours
_INVERSE = prefix_rules(_PREFIXES, 1)  # ours -> official

#: Official keys that have no counterpart (the unused 8192-way head).
DROPPED_OFFICIAL = re.compile(r'^lm_head\.')
#: Keys every official pre-training checkpoint has.
REQUIRED_OFFICIAL = ('cls_token', 'mask_token', 'patch_embed.proj.weight',
                     'blocks.0.attn.qkv.weight', 'projectors.0.weight')


def rename_key(key: str, rules: List[Tuple[str, str]]) -> Optional[str]:
    """``key`` renamed by the first of ``rules`` that matches it.

    Args:
        key (str): A state-dict key.
        rules (list[tuple[str, str]]): From :func:`prefix_rules`.

    Returns:
        str | None: The new key; None if no rule matches.
    """
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
    teacher = student if teacher is None else teacher
    for prefix, source in (('', student), ('teacher.', teacher)):
        for key, value in source.items():
            if DROPPED_OFFICIAL.match(key):
                continue
            new_key = rename_key(key, _RENAMES)
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
        new_key = rename_key(key, _INVERSE)
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
