"""ConMIM: masked image modeling with denoising contrast."""
import math
from copy import deepcopy
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.models import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ...errors import ConfigError


def cosine_momentum(base: float, cur_iter: int, max_iters: int) -> float:
    """The teacher momentum of iteration ``cur_iter`` (counted from 0).

    ``m = 1 - (1 - base) * (cos(pi * cur_iter / max_iters) + 1) / 2``: the
    official schedule, ``base`` at the first iteration, 1.0 at the end.

    Args:
        base (float): Momentum at the first iteration.
        cur_iter (int): The iteration.
        max_iters (int): Iterations of the whole run.

    Returns:
        float: The momentum.
    """
    cosine = (math.cos(math.pi * cur_iter / max_iters) + 1) / 2
    return 1 - (1 - base) * cosine


@MODELS.register_module()
class ConMIM(BaseSelfSupervisor):
    """ConMIM pre-training (`Masked Image Modeling with Denoising Contrast
    <https://arxiv.org/abs/2205.09616>`_).

    The student (``backbone`` + ``neck``) sees the weakly augmented view with
    masked patches replaced by a mask token; the momentum teacher, an exact
    copy made at construction, sees the unmasked, photometrically noised view
    without gradient. The neck projects every token. ``head`` contrasts the
    masked student patches with all teacher patches of the same image.

    The teacher is a plain submodule (``teacher.backbone.*``,
    ``teacher.neck.*`` in the state dict, which the downstream configs
    read), so ``model.train()`` keeps its BatchNorm layers in train mode as
    in the official code, and checkpoints hold it. It changes only through
    :meth:`momentum_update`, called once per optimizer step right after it
    (``TeacherUpdateHook``; with gradient accumulation, every
    ``accumulative_counts`` iterations). The model will not compute a
    training loss until an updater has declared itself
    (:meth:`follow_student_with`), so no config can train it against a
    frozen teacher.

    Args:
        backbone (dict): Masked ViT config (``ConMIMPretrainViT``); called
            as ``backbone(x, mask)`` and returning ``(B, 1+N, C)`` tokens.
        neck (dict): Token-wise projector (``TokenProjector``):
            (B, L, C) -> (B, L, D).
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
        self.teacher_updater: Optional[str] = None

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

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Denoising contrast between the masked and the noised view.

        Args:
            inputs (list[torch.Tensor]): ``[query_view, key_view]``, each
                (B, 3, H, W), same crop and flip.
            data_samples (list[DataSample]): Each with ``mask`` (h, w) over
                the patch grid (1 = masked).

        Returns:
            dict[str, torch.Tensor]: The head's ``loss`` and ``patch_acc``
            (:meth:`ConMIMHead.loss`); mmengine sums the keys containing
            ``loss`` and logs the others as they are.

        Raises:
            ConfigError: In training mode, when nothing updates the teacher
                (:meth:`follow_student_with`).
        """
        if self.training and self.teacher_updater is None:
            raise ConfigError(
                'ConMIM would train against a frozen teacher: nothing '
                'updates it after the optimizer step. Add '
                "dict(type='TeacherUpdateHook') to custom_hooks (a config "
                'that sets custom_hooks replaces its base\'s list: write '
                'custom_hooks = _base_.custom_hooks + [...])')
        mask = torch.stack([sample.mask for sample in data_samples])
        mask = mask.flatten(1).bool()
        # teacher first, as in the official step: its temporaries are freed
        # before the student's activations (kept for backward) are made
        with torch.no_grad():
            teacher = self.teacher.neck(
                self.teacher.backbone(inputs[1], None)[0])
        student = self.neck(self.backbone(inputs[0], mask)[0])
        # patch tokens only: the [CLS] token takes no part in the loss
        return self.head.loss(student[:, 1:], teacher[:, 1:], mask)

    def follow_student_with(self, updater: Optional[str]) -> None:
        """Declare what updates the teacher after each optimizer step.

        :meth:`loss` refuses to train until something has: without it the
        student would learn against a frozen teacher, a different method,
        with no sign in the log. ``TeacherUpdateHook`` declares itself
        before training and withdraws after it; a training loop of one's
        own that calls :meth:`momentum_update` after each step declares
        itself the same way.

        Args:
            updater (str | None): What updates the teacher (kept as
                ``teacher_updater``), or None to withdraw it.
        """
        self.teacher_updater = updater

    @torch.no_grad()
    def momentum_update(self, step: int, total_steps: int) -> float:
        """``teacher = m * teacher + (1 - m) * student``, parameters only.

        One multi-tensor update; BatchNorm buffers are not averaged. ``m``
        follows :func:`cosine_momentum` over the optimizer steps of the run
        (the iterations without gradient accumulation).

        Args:
            step (int): The optimizer step just taken, counted from 0.
            total_steps (int): Optimizer steps in the whole run.

        Returns:
            float: The momentum ``m`` used.
        """
        momentum = cosine_momentum(self.teacher_momentum, step, total_steps)
        student = list(self.backbone.parameters()) + list(
            self.neck.parameters())
        # teacher + (1 - m) * (student - teacher): one pass over the weights
        torch._foreach_lerp_(list(self.teacher.parameters()), student,
                             1 - momentum)
        return momentum
