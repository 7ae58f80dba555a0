"""BEiT ViTs for ConMIM: SDPA attention; the official initialisation;
relative position tables resized with torch at load time."""
import torch
import torch.nn as nn
from mmcv.cnn.bricks import DropPath
from mmengine.logging import print_log
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones.beit import BEiTViT
from mmpretrain.models.selfsup.beit import BEiTPretrainViT
from mmpretrain.registry import MODELS

from ...checkpoints.export import resize_rel_pos_table
from ...errors import ConfigError
from .sdpa_attention import SDPABEiTAttention

ATTENTIONS = ('sdpa', 'stock')


def use_attention(layers: nn.ModuleList, attention: str) -> None:
    """Give every BEiT block the ``attention`` kernel.

    Args:
        layers (nn.ModuleList): ``BEiTTransformerEncoderLayer`` blocks.
        attention (str): ``'sdpa'`` (:class:`SDPABEiTAttention`, the
            default) or ``'stock'`` (mmpretrain's matmul-softmax-matmul, the
            official code's arithmetic).

    Raises:
        ConfigError: For another value.
    """
    if attention not in ATTENTIONS:
        raise ConfigError(f'backbone.attention must be one of {ATTENTIONS}, '
                          f'got {attention!r}')
    if attention == 'sdpa':
        # building the new modules draws their (discarded) initial weights;
        # a forked RNG keeps the draws of the backbone's own initialisation
        # those of the stock backbone under the same seed
        with torch.random.fork_rng(devices=[]):
            for layer in layers:
                layer.attn = SDPABEiTAttention.from_attention(layer.attn)


def use_float_drop_rates(layers: nn.ModuleList) -> None:
    """Make the stochastic-depth rates of the blocks Python floats.

    mmpretrain draws them with ``np.linspace``, so every ``DropPath`` holds
    a numpy float. ``torch.compile`` turns a numpy scalar into a tensor input
    of the graph, which makes mmcv's ``if drop_prob == 0.`` a data-dependent
    branch: a graph break inside mmengine's ``optim_context``, after which
    the whole ``train_step`` runs uncompiled. A Python float is compiled as
    a constant. The values are unchanged.

    Args:
        layers (nn.ModuleList): ``BEiTTransformerEncoderLayer`` blocks.
    """
    for module in layers.modules():
        if isinstance(module, DropPath):
            module.drop_prob = float(module.drop_prob)


class AttentionChoiceMixin:
    """Adds ``attention`` to a BEiT backbone class (see
    :func:`use_attention`) and gives its blocks plain float drop-path rates
    (:func:`use_float_drop_rates`).

    Args:
        attention (str): ``'sdpa'`` or ``'stock'``. Defaults to ``'sdpa'``.
        **kwargs: The backbone's own arguments.
    """

    def __init__(self, attention: str = 'sdpa', **kwargs) -> None:
        super().__init__(**kwargs)
        use_attention(self.layers, attention)
        use_float_drop_rates(self.layers)


@MODELS.register_module()
class ConMIMPretrainViT(AttentionChoiceMixin, BEiTPretrainViT):
    """The ConMIM pre-training ViT: mmpretrain's ``BEiTPretrainViT`` (masked
    patches replaced by a mask token) with SDPA attention and the official
    initialisation.

    Initialisation as the official pre-training code: every linear layer of
    every block from the ``init_cfg`` (the published configs: normal with
    std 0.02 truncated to [-0.02, 0.02], zero bias; mmpretrain's blocks
    would re-draw their feed-forward layers Xavier-uniform afterwards), and
    the cls and mask tokens normal with std 0.02 truncated to
    [-0.02, 0.02] (mmpretrain truncates at +-2). Parameters and state-dict
    keys are ``BEiTPretrainViT``'s.

    Args:
        attention (str): ``'sdpa'`` or ``'stock'`` (see
            :func:`use_attention`). Defaults to ``'sdpa'``.
        **kwargs: ``BEiTPretrainViT`` arguments.
    """

    def init_weights(self) -> None:
        """The ``init_cfg`` for everything, then the tokens as above
        (unless the ``init_cfg`` loads a checkpoint)."""
        for layer in self.layers:
            # mmengine skips the init_weights of modules marked initialised
            layer.is_init = True
        super().init_weights()
        if (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            return
        for token in (self.cls_token, self.mask_token):
            trunc_normal_(token, std=0.02, a=-0.02, b=0.02)


@MODELS.register_module()
class ConMIMBEiTViT(AttentionChoiceMixin, BEiTViT):
    """mmpretrain's ``BEiTViT`` (fine-tuning, features) with SDPA attention
    and relative position tables resized with torch.

    Same parameters and state-dict keys as ``BEiTViT``, so it loads the
    teacher of a ConMIM checkpoint as ``BEiTViT`` does. A checkpoint's
    tables reach every block at the backbone's own patch grid
    (:meth:`prepare_rel_pos_tables`) before ``BEiTViT``'s own load hook sees
    them, which then finds nothing to do: fine-tuning at another input size
    (ADE20K at 512, COCO at 1024) needs no SciPy (mmpretrain resizes with
    ``scipy.interpolate.interp2d``, removed in SciPy 1.14).

    The class name keeps ``BEiT``: mmseg's layer-decay optimizer
    constructors (``LayerDecayOptimizerConstructor`` of the ADE20K configs,
    ``LearningRateDecayOptimizerConstructor`` of the COCO ones) recognise a
    ViT backbone by ``'BEiT'`` or ``'MAE'`` in its class name and refuse any
    other.

    Args:
        attention (str): ``'sdpa'`` or ``'stock'`` (see
            :func:`use_attention`). Defaults to ``'sdpa'``.
        **kwargs: ``BEiTViT`` arguments.
    """

    def prepare_rel_pos_tables(self, state_dict: dict, prefix: str) -> None:
        """Bring a checkpoint's relative position tables to this backbone.

        A shared table (pre-training: ``rel_pos_bias.*``) is copied into
        every block that has its own table; a table of another patch grid is
        resized bicubically (:func:`resize_rel_pos_table`, the 3 [CLS] rows
        kept) and its index replaced by the backbone's.

        Args:
            state_dict (dict): The state dict being loaded, changed in
                place.
            prefix (str): This backbone's prefix in ``state_dict``.
        """
        own = self.state_dict()
        tables = [k for k in own if k.endswith('relative_position_bias_table')]
        shared_key = f'{prefix}rel_pos_bias.relative_position_bias_table'
        if self.use_rel_pos_bias and shared_key in state_dict:
            shared = state_dict.pop(shared_key)
            state_dict.pop(shared_key.replace('bias_table', 'index'), None)
            for key in tables:
                state_dict[prefix + key] = shared.clone()
        grid = tuple(self.patch_resolution)
        resized = []
        for key in tables:
            table = state_dict.get(prefix + key)
            if table is None or table.shape == own[key].shape:
                continue
            state_dict[prefix + key] = resize_rel_pos_table(table, grid)
            index = key.replace('bias_table', 'index')
            if index in own:  # the checkpoint's is for its own grid
                state_dict[prefix + index] = own[index]
            resized.append(tuple(table.shape))
        if resized:
            print_log(
                f'{type(self).__name__}: {len(resized)} relative position '
                f'tables resized from {resized[0][0]} rows to the '
                f'{grid[0]}x{grid[1]} patch grid', logger='current')

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args,
                              **kwargs) -> None:
        """torch's per-module loading step, after
        :meth:`prepare_rel_pos_tables`."""
        self.prepare_rel_pos_tables(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor) -> tuple:
        """``BEiTViT.forward``, with feature maps made contiguous.

        ``BEiTViT`` returns a feature map as a permuted view of the tokens,
        strided as channels-last, and the convolutions of a pyramid neck keep
        that layout. mmcv's ``RoIAlign`` reads its input as contiguous NCHW
        without checking (CPU and CUDA kernels alike, open-mmlab/mmcv#2203),
        so a Mask R-CNN on such maps pools the wrong pixels, silently.

        Args:
            x (torch.Tensor): Images, shape (B, 3, H, W).

        Returns:
            tuple: ``BEiTViT``'s outputs; a feature map (``out_type=
            'featmap'``), shape (B, C, H / patch, W / patch), is contiguous.
        """
        return tuple(out.contiguous() for out in super().forward(x))
