"""The ConMIM projector, applied to every token."""
import torch
from mmpretrain.models.necks import NonLinearNeck
from mmpretrain.registry import MODELS


@MODELS.register_module()
class TokenProjector(NonLinearNeck):
    """mmpretrain's ``NonLinearNeck`` applied to each token of a sequence.

    The official ConMIM projector is Linear-BN-ReLU-Linear-BN-ReLU-Linear-BN
    (``num_layers=3``, no biases, last BN without affine) over the tokens of
    all images flattened into one batch, so the BatchNorm statistics pool
    every token (the [CLS] token included) of every image. Parameters and
    state-dict keys are ``NonLinearNeck``'s (``fc0``, ``bn0``, ...).

    Args:
        **kwargs: ``NonLinearNeck`` arguments except ``with_avg_pool``
            (there is no pooling).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(with_avg_pool=False, **kwargs)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Project every token.

        Args:
            tokens (torch.Tensor): (B, L, C).

        Returns:
            torch.Tensor: (B, L, D), D = ``out_channels``.
        """
        batch, length, channels = tokens.shape
        projected = super().forward(
            (tokens.reshape(batch * length, channels), ))[0]
        return projected.reshape(batch, length, -1)
