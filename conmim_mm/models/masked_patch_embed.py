"""Patch embedding of the visible patches only, for masked pre-training.

BEiT's masked forward embeds every patch and then replaces the masked ones
(three quarters in ConMIM) by the mask token, so the convolution's work on
them, forward and backward, is thrown away. Here the visible patches are
gathered and projected by one matrix product, and the mask token fills the
other rows: the same tokens up to float rounding, and the same gradients
(those of the masked patches are zero either way).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn.bricks.transformer import PatchEmbed


def embed_visible_patches(
        patch_embed: PatchEmbed, mask_token: torch.Tensor,
        images: torch.Tensor, mask: torch.Tensor
) -> Optional[Tuple[torch.Tensor, Tuple[int, int]]]:
    """Tokens of ``images`` with the masked patches replaced by
    ``mask_token``, projecting only the visible patches.

    Args:
        patch_embed (PatchEmbed): mmcv's patch embedding; it must be a plain
            non-overlapping ``Conv2d`` (kernel equal to stride, no padding,
            dilation or groups, no norm), else None is returned.
        mask_token (torch.Tensor): (1, 1, C).
        images (torch.Tensor): (B, 3, H, W), H and W multiples of the patch
            size (else None is returned).
        mask (torch.Tensor): (B, H/p, W/p), True where masked.

    Returns:
        tuple[torch.Tensor, tuple[int, int]] | None: Tokens (B, L, C) and
        the patch grid (H/p, W/p), or None where this embedding does not
        apply (the caller then takes the convolution).
    """
    conv = patch_embed.projection
    if not (type(conv) is nn.Conv2d and patch_embed.norm is None
            and conv.kernel_size == conv.stride and conv.groups == 1
            and conv.padding == (0, 0) and conv.dilation == (1, 1)):
        return None
    batch, channels, height, width = images.shape
    size_h, size_w = conv.kernel_size
    if height % size_h or width % size_w:
        return None
    grid = (height // size_h, width // size_w)
    # (B, H/p, W/p, 3, p, p): a view; indexing copies the visible ones only
    patches = images.reshape(batch, channels, grid[0], size_h, grid[1],
                             size_w).permute(0, 2, 4, 1, 3, 5)
    visible = ~mask.reshape(batch, *grid).bool()
    weight = conv.weight.reshape(conv.out_channels, -1)
    inputs = patches[visible].reshape(-1, weight.shape[1])
    embedded = (inputs @ weight.t() if conv.bias is None else torch.addmm(
        conv.bias, inputs, weight.t()))
    rows = visible.flatten().nonzero().squeeze(1)
    tokens = mask_token.reshape(1, -1).to(embedded.dtype).expand(
        batch * grid[0] * grid[1], -1).index_copy(0, rows, embedded)
    return tokens.view(batch, grid[0] * grid[1], -1), grid
