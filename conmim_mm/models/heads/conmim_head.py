"""Patch-level denoising contrast: the ConMIM loss."""
from typing import Dict

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from ...errors import ConfigError


@MODELS.register_module()
class ConMIMHead(BaseModule):
    """Per-image patch InfoNCE between student queries and teacher keys.

    For every masked position ``j`` of an image, the L2-normalised student
    feature ``q_j`` must pick its own position among the L2-normalised teacher
    features ``k_1..k_N`` of the same image (visible positions included)::

        loss_j = -log(exp(q_j . k_j / t) / sum_i exp(q_j . k_i / t))

    The loss is the mean over all masked positions of the batch. No
    cross-image negatives. Computed in fp32 even under autocast.

    The pretext task's accuracy comes with it, from the same logits:
    ``patch_acc``, the percentage of masked positions ``j`` whose most
    similar teacher feature is ``k_j`` (chance: ``100 / N``). It carries no
    gradient and takes no part in the loss.

    Args:
        temperature (float): Softmax temperature ``t``. Defaults to 0.1.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self, temperature: float = 0.1, init_cfg=None) -> None:
        super().__init__(init_cfg)
        if temperature <= 0:
            raise ConfigError(
                f'ConMIMHead.temperature must be > 0, got {temperature}')
        self.temperature = temperature

    def loss(self, student: torch.Tensor, teacher: torch.Tensor,
             mask: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Compute the denoising contrast loss.

        Args:
            student (torch.Tensor): Student patch features (B, N, D), CLS
                excluded.
            teacher (torch.Tensor): Teacher patch features (B, N, D).
            mask (torch.Tensor): Masked positions (B, N), bool.

        Returns:
            dict[str, torch.Tensor]: ``loss``, a scalar, and ``patch_acc``,
            a scalar in % without gradient: how many masked positions pick
            their own teacher patch (highest ``q_j . k_i``) among the ``N``
            of their image.
        """
        if student.shape != teacher.shape or mask.shape != student.shape[:2]:
            raise ValueError(
                'ConMIMHead expects student and teacher features of one '
                f'shape (B, N, D) and a (B, N) mask, got '
                f'{tuple(student.shape)}, {tuple(teacher.shape)} and '
                f'{tuple(mask.shape)}')
        # every position's loss, weighted by the mask: the same mean over the
        # masked positions as selecting them (logits[mask]) without a tensor
        # whose size depends on the mask, which torch.compile cannot trace
        # in one graph
        weight = mask.float()
        with torch.autocast(device_type=student.device.type, enabled=False):
            query = F.normalize(student.float(), dim=-1)
            key = F.normalize(teacher.float(), dim=-1)
            # (B, N, N): row j holds q_j . k_i for every position i
            logits = torch.bmm(query, key.transpose(1, 2)) / self.temperature
            num_patches = student.shape[1]
            target = torch.arange(
                num_patches, device=student.device).expand_as(mask)
            per_position = F.cross_entropy(
                logits.flatten(0, 1), target.flatten(),
                reduction='none').view_as(weight)
            loss = (per_position * weight).sum() / weight.sum()
        with torch.no_grad():
            hits = (logits.argmax(dim=-1) == target).float()
            patch_acc = (hits * weight).sum() / weight.sum() * 100
        return dict(loss=loss, patch_acc=patch_acc)
