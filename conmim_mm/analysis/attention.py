"""[CLS]-to-patch self-attention of a BEiT-style ViT, and its picture."""
import inspect
from typing import List, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.utils.attention import BEiTAttention


def cls_attention(backbone: nn.Module, images: torch.Tensor,
                  layer: int = -1) -> torch.Tensor:
    """Attention of the [CLS] token to every patch in block ``layer``.

    The probabilities are taken where ``BEiTAttention`` computes them (the
    input of its ``attn_drop``), after the relative position bias (shared or
    per block) is added and the softmax applied, so they are exactly what
    the block uses.

    Args:
        backbone (nn.Module): An mmpretrain ``BEiTViT`` or
            ``BEiTPretrainViT`` (or conmim_mm's ``ConMIM*ViT``), in eval
            mode.
        images (torch.Tensor): Normalised images (B, 3, H, W) of the size
            the backbone was built for.
        layer (int): Block index; negative counts from the last.
            Defaults to -1.

    Returns:
        torch.Tensor: (B, heads, h, w) probabilities of the [CLS] row over
        the patch grid (its [CLS]-to-[CLS] entry left out).
    """
    blocks = backbone.layers
    if not -len(blocks) <= layer < len(blocks):
        raise ValueError(f'layer must be in [-{len(blocks)}, {len(blocks)}),'
                         f' got {layer} for a {len(blocks)}-block backbone')
    attention = blocks[layer].attn
    if not isinstance(attention, BEiTAttention):
        raise TypeError(f'block {layer} has a {type(attention).__name__}, '
                        'not a BEiTAttention')
    block_inputs = []
    handle = attention.register_forward_pre_hook(
        lambda module, args, kwargs: block_inputs.append((args, kwargs)),
        with_kwargs=True)
    try:
        with torch.no_grad():
            if 'mask' in inspect.signature(backbone.forward).parameters:
                backbone(images, None)  # BEiTPretrainViT: no mask
            else:
                backbone(images)
    finally:
        handle.remove()
    # fused kernels (SDPABEiTAttention) never form the probabilities: the
    # block's input goes once more through the stock arithmetic, on the
    # block's own parameters, and they are taken from there
    captured = []
    handle = attention.attn_drop.register_forward_hook(
        lambda module, inputs, output: captured.append(inputs[0]))
    try:
        with torch.no_grad():
            args, kwargs = block_inputs[0]
            BEiTAttention.forward(attention, *args, **kwargs)
    finally:
        handle.remove()
    probabilities = captured[0]  # (B, heads, 1 + h*w, 1 + h*w)
    grid_h, grid_w = backbone.patch_resolution
    batch, heads = probabilities.shape[:2]
    return probabilities[:, :, 0, 1:].reshape(batch, heads, grid_h, grid_w)


def _overlay(image: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """Blend a [0, 1] map (H, W) in the jet colour map onto an RGB image."""
    from matplotlib import colormaps
    colours = colormaps['jet'](heat)[..., :3] * 255
    return (0.5 * image + 0.5 * colours).astype(np.uint8)


def render_attention(image: np.ndarray, maps: List[torch.Tensor],
                     per_head: bool = False) -> np.ndarray:
    """Input image followed by one heat-map panel per map (or per head).

    Args:
        image (np.ndarray): The RGB uint8 image (H, W, 3) the maps belong to.
        maps (list[torch.Tensor]): Maps (heads, h, w) of one image, e.g. one
            per model; averaged over heads unless ``per_head``.
        per_head (bool): One panel per head instead of the head mean.

    Returns:
        np.ndarray: RGB uint8 (H, W * panels, 3).
    """
    height, width = image.shape[:2]
    panels = [image]
    for attention in maps:
        heads = attention if per_head else attention.mean(0, keepdim=True)
        for heat in heads:
            heat = F.interpolate(heat[None, None].float(), (height, width),
                                 mode='bilinear', align_corners=False)[0, 0]
            heat = heat - heat.min()
            heat = (heat / heat.max().clamp(min=1e-12)).cpu().numpy()
            panels.append(_overlay(image, heat))
    return np.concatenate(panels, axis=1)


def normalise_image(image: np.ndarray, mean: Optional[List[float]],
                    std: Optional[List[float]]) -> torch.Tensor:
    """RGB uint8 (H, W, 3) -> normalised (1, 3, H, W) float tensor."""
    tensor = torch.from_numpy(image).permute(2, 0, 1).float()[None]
    if mean is not None:
        tensor = (tensor - torch.tensor(mean).view(1, 3, 1, 1)) / \
            torch.tensor(std).view(1, 3, 1, 1)
    return tensor


class AttentionModel:
    """A backbone from a config + checkpoint, ready for :func:`cls_attention`.

    Reads a ConMIM pre-training checkpoint (teacher backbone by default,
    ``weights='student'`` for the student) or a classifier checkpoint whose
    model has a ``backbone`` (e.g. a fine-tuned ``BEiTViT``). Checkpoints
    are loaded weights-only.

    Args:
        config (str): Config file of the model.
        checkpoint (str): Checkpoint file.
        weights (str): ``'teacher'`` or ``'student'``; models without a
            teacher use their backbone. Defaults to ``'teacher'``.
    """

    def __init__(self, config: str, checkpoint: str,
                 weights: str = 'teacher') -> None:
        from mmengine.registry import init_default_scope
        from mmpretrain.registry import MODELS

        from ..checkpoints import load_checkpoint_file
        from ..errors import CheckpointFormatError
        from ..utils import load_config
        cfg = load_config(config)
        init_default_scope(cfg.get('default_scope', 'mmpretrain'))
        model = MODELS.build(cfg.model)
        has_teacher = hasattr(model, 'teacher')
        prefix = 'teacher.backbone.' if has_teacher and \
            weights == 'teacher' else 'backbone.'
        self.backbone = model.teacher.backbone if prefix.startswith(
            'teacher') else model.backbone
        state = load_checkpoint_file(checkpoint, map_location='cpu')
        state = state.get('state_dict', state)
        sub = {k[len(prefix):]: v for k, v in state.items()
               if k.startswith(prefix)}
        if not sub:
            raise CheckpointFormatError(
                f'{checkpoint} has no `{prefix}*` weights for the model of '
                f'{config}')
        missing, unexpected = self.backbone.load_state_dict(sub, strict=False)
        missing = [k for k in missing if 'relative_position_index' not in k]
        if missing or unexpected:
            raise CheckpointFormatError(
                f'{checkpoint} does not fit the backbone of {config}: '
                f'missing {missing[:5]}, unexpected {unexpected[:5]}')
        self.backbone.eval()
        self.source = f'{config} ({prefix.rstrip(".")})'
        preprocessor = cfg.get('data_preprocessor') or cfg.model.get(
            'data_preprocessor') or {}
        self.mean = preprocessor.get('mean')
        self.std = preprocessor.get('std')
        self.rgb = bool(
            preprocessor.get('to_rgb') or preprocessor.get('bgr_to_rgb'))
        grid_h, grid_w = self.backbone.patch_resolution
        patch_h, patch_w = self.backbone.patch_embed.projection.kernel_size
        self.size = (grid_h * patch_h, grid_w * patch_w)

    def maps(self, image_rgb: np.ndarray, layer: int = -1) -> torch.Tensor:
        """(heads, h, w) [CLS] attention for one RGB uint8 image of any size.

        The image is resized (bicubic) to the size the backbone was built
        for and normalised as the config's data preprocessor does.
        """
        import cv2
        resized = cv2.resize(image_rgb, self.size[::-1],
                             interpolation=cv2.INTER_CUBIC)
        if not self.rgb:
            resized = resized[..., ::-1].copy()
        inputs = normalise_image(resized, self.mean, self.std)
        return cls_attention(self.backbone, inputs, layer)[0]
