"""The methods a transfer benchmark compares: each a pre-training config (or
random initialisation) and the fine-tuning config of its backbone family."""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, Optional

from ...utils import load_config

#: The built-in methods: name -> (pre-training config, None for a
#: random-init row; fine-tuning config), files of the benchmark's config
#: folder (``configs/transfer``).
BUILTIN_METHODS = {
    'conmim': ('conmim.py', 'finetune_beit.py'),
    'conmim_abs': ('conmim_abs.py', 'finetune_beit_abs.py'),
    'mae': ('mae.py', 'finetune_vit.py'),
    'maskfeat': ('maskfeat.py', 'finetune_vit.py'),
    'mocov3': ('mocov3.py', 'finetune_vit_cls.py'),
    'scratch_beit': (None, 'finetune_beit.py'),
    'scratch_beit_abs': (None, 'finetune_beit_abs.py'),
    'scratch_vit': (None, 'finetune_vit.py'),
}


@dataclass(frozen=True)
class Method:
    """One row of the benchmark.

    Args:
        name (str): Its name in the results.
        finetune_config (str): The fine-tuning config of its backbone family.
        pretrain_config (str, optional): The pre-training config, whose
            backbone gives the fine-tuned architecture and input size; None
            for a row fine-tuned from random initialisation.
        checkpoint (str, optional): Pre-trained weights to start from instead
            of pre-training.
    """

    name: str
    finetune_config: str
    pretrain_config: Optional[str] = None
    checkpoint: Optional[str] = None

    @property
    def pretrains(self) -> bool:
        """Whether the benchmark pre-trains it (a pre-training config and no
        checkpoint given)."""
        return self.pretrain_config is not None and self.checkpoint is None


def builtin_methods(config_dir: str) -> Dict[str, Method]:
    """The built-in methods, in the benchmark's order.

    Args:
        config_dir (str): The folder of the benchmark's configs
            (``configs/transfer``).

    Returns:
        dict: Name -> :class:`Method`.
    """
    return {
        name: Method(name, osp.join(config_dir, finetune),
                     pretrain and osp.join(config_dir, pretrain))
        for name, (pretrain, finetune) in BUILTIN_METHODS.items()
    }


def pretrained_method(name: str, config: str, config_dir: str) -> Method:
    """A method pre-trained from a config of one's own.

    A ConMIM config fine-tunes as the BEiT-style ViT of ConMIM (with an
    absolute position embedding if its backbone has one), any other
    mmpretrain algorithm as a plain ViT.

    Args:
        name (str): The method's name.
        config (str): Its pre-training config.
        config_dir (str): The folder of the benchmark's fine-tuning configs.

    Returns:
        Method: The method.
    """
    model = load_config(config).model
    if model.get('type') == 'ConMIM':
        family = ('finetune_beit_abs.py' if model.get('backbone', {}).get(
            'use_abs_pos_emb') else 'finetune_beit.py')
    else:
        family = 'finetune_vit.py'
    return Method(name, osp.join(config_dir, family), config)
