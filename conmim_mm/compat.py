"""A torch replacement for mmpretrain's SciPy-based table resize.

mmpretrain 1.2.0 resizes BEiT relative position bias tables (when a 224
checkpoint is loaded into a backbone built for 512 or 1024 inputs) with
``scipy.interpolate.interp2d``, which SciPy 1.14 removed. Importing
:mod:`conmim_mm` points mmpretrain's BEiT backbone at
:func:`resize_offsets`, a bicubic ``torch.nn.functional.interpolate`` of the
same offset map, so fine-tuning at another input size does not depend on the
removed SciPy API (the same resize as ``tools/model_converters/
extract_backbone.py --img-size``).
"""
import torch

from .checkpoints.export import resize_rel_pos_table


def resize_offsets(src_shape: int, dst_shape: int, table: torch.Tensor,
                   num_head: int) -> torch.Tensor:
    """Resize the offset rows of a relative position bias table.

    Same signature as mmpretrain's ``resize_relative_position_bias_table``.

    Args:
        src_shape (int): Side of the source offset map (2h - 1).
        dst_shape (int): Side of the target offset map (2h' - 1).
        table (torch.Tensor): (src_shape ** 2, num_head), without the 3
            [CLS] rows.
        num_head (int): Number of heads.

    Returns:
        torch.Tensor: (dst_shape ** 2, num_head).
    """
    dummy_cls_rows = table.new_zeros(3, num_head)
    grid = ((dst_shape + 1) // 2, ) * 2
    return resize_rel_pos_table(torch.cat([table, dummy_cls_rows]),
                                grid)[:-3]


def patch_mmpretrain_beit() -> None:
    """Point mmpretrain's BEiT backbone module at :func:`resize_offsets`."""
    from mmpretrain.models.backbones import beit
    beit.resize_relative_position_bias_table = resize_offsets
