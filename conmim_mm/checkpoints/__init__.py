"""Checkpoint files: weights-only loading, official key maps, backbone export.

* :mod:`.atomic_write`: checkpoint files written whole or not at all (a
  temporary file renamed), for mmengine and for the converters;
* :mod:`.loading`: the weights-only loader of our tools, and
  the plain-data form of runner checkpoints;
* :mod:`.official`: the key layouts of the official ConMIM pre-training
  checkpoints and ours;
* :mod:`.official_finetune`: the official fine-tuned classifiers (the
  released ImageNet-1K models) and our fine-tuning classifier;
* :mod:`.export`: the teacher backbone for mmpretrain, mmseg and timm.
"""
from .atomic_write import (ATOMIC_BACKEND_ARGS, AtomicLocalBackend,
                           save_checkpoint_file, write_atomically)
from .export import LAYOUTS, export_backbone, resize_rel_pos_table
from .loading import (check_plain, convert_mmengine_checkpoint,
                      load_checkpoint_file, message_hub_from_plain,
                      to_plain, unsafe_checkpoint_message)
from .official import (conmim_to_official, official_model_state,
                       official_to_conmim)
from .official_finetune import (FinetuneArch, load_official_finetune,
                                mmpretrain_to_official_ft,
                                official_finetune_arch,
                                official_finetune_state,
                                official_ft_to_mmpretrain)

__all__ = [
    'ATOMIC_BACKEND_ARGS', 'AtomicLocalBackend', 'FinetuneArch', 'LAYOUTS',
    'check_plain', 'conmim_to_official', 'convert_mmengine_checkpoint',
    'export_backbone', 'load_checkpoint_file', 'load_official_finetune',
    'message_hub_from_plain', 'mmpretrain_to_official_ft',
    'official_finetune_arch', 'official_finetune_state',
    'official_ft_to_mmpretrain', 'official_model_state', 'official_to_conmim',
    'resize_rel_pos_table', 'save_checkpoint_file',
    'to_plain', 'unsafe_checkpoint_message', 'write_atomically'
]
