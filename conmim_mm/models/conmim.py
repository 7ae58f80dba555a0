"""ConMIM: masked image modeling with denoising contrast."""
import math
from copy import deepcopy
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from torch.nn.modules.batchnorm import _BatchNorm
from mmpretrain.models import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..config_check import ConfigError
from ..non_finite import (NonFiniteError, check_finite_losses,
                          check_finite_parameters)


@MODELS.register_module()
class ConMIM(BaseSelfSupervisor):
    """ConMIM pre-training (`Masked Image Modeling with Denoising Contrast
    <https://arxiv.org/abs/2205.09616>`_).

    The student (``backbone`` + ``neck``) sees the weakly augmented view with
    masked patches replaced by a mask token; the momentum teacher, an exact
    copy made at construction, sees the unmasked, photometrically noised view
    without gradient. The neck (projector) is applied to every token, CLS
    included, flattened to (B*L, C). ``head`` contrasts the masked student
    patches with all teacher patches of the same image.

    The teacher is a plain submodule (``teacher.backbone.*``,
    ``teacher.neck.*`` in the state dict), so ``model.train()`` keeps its
    BatchNorm layers in train mode as in the official code, and checkpoints
    hold it. It changes only through :meth:`momentum_update`, called once per
    iteration right after the optimizer step (``TeacherUpdateHook``).

    Args:
        backbone (dict): ``BEiTPretrainViT`` config; called as
            ``backbone(x, mask)`` and returning ``(B, 1+N, C)`` tokens.
        neck (dict): Token-wise projector, e.g. ``FastNonLinearNeck`` or
            ``NonLinearNeck`` with ``with_avg_pool=False``.
        head (dict): ``ConMIMHead`` config.
        teacher_momentum (float): Teacher momentum at the first iteration;
            it follows a cosine to 1.0 at the last. Defaults to 0.996.
        data_preprocessor (dict, optional): Defaults to
            ``SelfSupDataPreprocessor``.
        init_cfg (dict | list[dict], optional): Initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 teacher_momentum: float = 0.996,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if not 0 <= teacher_momentum < 1:
            raise ConfigError('ConMIM.teacher_momentum must be in [0, 1), '
                              f'got {teacher_momentum}')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.teacher_momentum = teacher_momentum
        self.teacher = nn.ModuleDict(
            dict(backbone=deepcopy(self.backbone), neck=deepcopy(self.neck)))
        self.teacher.requires_grad_(False)

    def init_weights(self) -> None:
        """Initialise the student, then make the teacher an exact copy.

        A ``Pretrained`` init_cfg loads both from the checkpoint instead.
        """
        super().init_weights()
        init_cfg = self.init_cfg if isinstance(self.init_cfg, dict) else {}
        if init_cfg.get('type') != 'Pretrained':
            self.teacher.backbone.load_state_dict(self.backbone.state_dict())
            self.teacher.neck.load_state_dict(self.neck.state_dict())

    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor]:
        """Backbone features of unmasked images.

        Args:
            inputs (torch.Tensor): Images (B, 3, H, W).

        Returns:
            tuple[torch.Tensor]: The backbone outputs (B, 1+N, C).
        """
        return self.backbone(inputs, mask=None)

    @staticmethod
    def _project(backbone: nn.Module, neck: nn.Module, images: torch.Tensor,
                 mask: Optional[torch.Tensor]) -> torch.Tensor:
        """Tokens of ``backbone`` projected one by one: (B, N, D), no CLS."""
        tokens = backbone(images, mask)[0]
        batch, length, channels = tokens.shape
        projected = neck((tokens.reshape(batch * length, channels), ))[0]
        return projected.reshape(batch, length, -1)[:, 1:]

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Denoising contrast between the masked and the noised view.

        Args:
            inputs (list[torch.Tensor]): ``[query_view, key_view]``, each
                (B, 3, H, W), same crop and flip.
            data_samples (list[DataSample]): Each with ``mask`` (h, w) over
                the patch grid (1 = masked).

        Returns:
            dict[str, torch.Tensor]: ``{'loss': scalar}``.
        """
        self._stats_before = [b.clone() for b in self._batch_norm_stats()]
        mask = torch.stack([sample.mask for sample in data_samples])
        mask = mask.flatten(1).bool()
        # teacher first, as in the official step: its temporaries are freed
        # before the student's activations (kept for backward) are made, so
        # the allocator reuses them (on CPU: fewer fresh pages per step)
        with torch.no_grad():
            teacher = self._project(self.teacher.backbone, self.teacher.neck,
                                    inputs[1], None)
        student = self._project(self.backbone, self.neck, inputs[0], mask)
        return self.head.loss(student, teacher, mask)

    def parse_losses(
        self, losses: Dict[str, torch.Tensor]
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Sum the losses; stop before the optimizer step if one is NaN/Inf.

        Args:
            losses (dict[str, torch.Tensor]): The output of :meth:`loss`.

        Returns:
            tuple[torch.Tensor, dict[str, torch.Tensor]]: The total loss and
            the values to log.

        Raises:
            NonFiniteError: Naming the iteration and the loss terms, on every
                rank when the loss of any rank is non-finite. The BatchNorm
                statistics the failed forward pass changed are restored, so
                the model is the state after the previous iteration.
        """
        total, log_vars = super().parse_losses(losses)
        try:
            check_finite_losses(losses, total)
        except NonFiniteError:
            for stat, before in zip(self._batch_norm_stats(),
                                    self._stats_before):
                stat.copy_(before)
            raise
        return total, log_vars

    def _batch_norm_stats(self) -> List[torch.Tensor]:
        """Running statistics of the projectors' BatchNorm layers."""
        return [buffer for module in self.modules()
                if isinstance(module, _BatchNorm)
                for buffer in module.buffers()]

    def _parameter_pairs(
            self) -> Tuple[List[nn.Parameter], List[nn.Parameter]]:
        """Teacher parameters and the student parameters they follow."""
        student = list(self.backbone.parameters()) + list(
            self.neck.parameters())
        return list(self.teacher.parameters()), student

    def current_momentum(self) -> float:
        """Momentum for the iteration that just ran (mmengine MessageHub).

        ``m = 1 - (1 - m0) * (cos(pi * iter / max_iters) + 1) / 2``, where
        ``iter`` counts from 0, as in the official cosine schedule.
        """
        hub = MessageHub.get_current_instance()
        cur_iter, max_iters = hub.get_info('iter'), hub.get_info('max_iters')
        if cur_iter is None or not max_iters:
            raise RuntimeError(
                'ConMIM.momentum_update needs `iter` and `max_iters` in the '
                "MessageHub (set by mmengine's train loop)")
        cosine = (math.cos(math.pi * cur_iter / max_iters) + 1) / 2
        return 1 - (1 - self.teacher_momentum) * cosine

    @torch.no_grad()
    def momentum_update(self) -> float:
        """``teacher = m * teacher + (1 - m) * student``, parameters only.

        One fused multi-tensor update; BatchNorm buffers are not averaged.
        The student is checked first, so a non-finite optimizer step never
        reaches the teacher.

        Returns:
            float: The momentum ``m`` used.

        Raises:
            NonFiniteError: If the student holds a NaN/Inf.
        """
        momentum = self.current_momentum()
        teacher, student = self._parameter_pairs()
        hub = MessageHub.get_current_instance()
        grad_norm = hub.log_scalars.get('train/grad_norm')
        check_finite_parameters(
            student, None if grad_norm is None else grad_norm.current())
        # teacher + (1 - m) * (student - teacher): one pass over the weights
        torch._foreach_lerp_(teacher, student, 1 - momentum)
        return momentum
