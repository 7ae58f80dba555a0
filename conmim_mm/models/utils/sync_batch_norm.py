"""SyncBN that also synchronises CPU processes (gloo)."""
import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
from mmengine.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm


@MODELS.register_module('PortableSyncBN')
class PortableSyncBatchNorm(_BatchNorm):
    """Batch statistics over all processes, on any device and backend.

    ``torch.nn.SyncBatchNorm`` runs on GPUs only (and DDP refuses CPU
    modules holding one). This layer gets the same result from two
    differentiable all-reduces of any process group, gloo on CPU included:
    the global mean, then the global biased variance (two passes, no
    ``E[x^2] - E[x]^2`` cancellation). Running statistics use the unbiased
    global variance, as ``nn.SyncBatchNorm`` does. Outside a process group or
    in eval mode it is plain batch norm. On GPUs ``'SyncBN'`` computes the same
    with torch's fused CUDA kernels.

    Registered as ``'PortableSyncBN'`` in mmengine's ``MODELS``: use
    ``norm_cfg=dict(type='PortableSyncBN')`` in any scope, e.g. for the
    ConMIM projector.

    Args:
        num_features (int): Channels C of inputs (N, C) or (N, C, L...).
        process_group (ProcessGroup, optional): Whose statistics to pool.
            Defaults to all processes.
        **kwargs: ``_BatchNorm`` arguments (``eps``, ``momentum``,
            ``affine``, ``track_running_stats``).
    """

    def __init__(self, num_features: int, process_group=None,
                 **kwargs) -> None:
        super().__init__(num_features, **kwargs)
        self.process_group = process_group

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(
                f'expected an input of shape (N, C, ...), got {x.dim()}D')

    def _needs_sync(self) -> bool:
        if not self.training:
            return False
        if not (dist.is_available() and dist.is_initialized()):
            return False
        group = self.process_group or dist.group.WORLD
        return dist.get_world_size(group) > 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` (N, C, ...) with statistics of all processes.

        Args:
            x (torch.Tensor): (N, C) or (N, C, L...).

        Returns:
            torch.Tensor: Same shape and dtype as ``x``.
        """
        self._check_input_dim(x)
        if not self._needs_sync():
            return super().forward(x)
        group = self.process_group or dist.group.WORLD
        dtype = x.dtype
        x = x.float()  # statistics in fp32 under mixed precision
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = x.new_tensor([x.numel() // x.shape[1]])
        sums = dist_fn.all_reduce(
            torch.cat([x.sum(dims), count]), group=group)
        total = sums[-1]
        mean = sums[:-1] / total
        centred = x - mean.reshape(shape)
        var = dist_fn.all_reduce(
            (centred * centred).sum(dims), group=group) / total
        out = centred * torch.rsqrt(var + self.eps).reshape(shape)
        if self.affine:
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach(),
                                       total.item())
        return out.to(dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor,
                              total: float) -> None:
        """Exponential (or cumulative, ``momentum=None``) running averages."""
        self.num_batches_tracked.add_(1)
        factor = self.momentum
        if factor is None:
            factor = 1.0 / self.num_batches_tracked.item()
        unbiased = var * total / max(total - 1, 1)
        self.running_mean.lerp_(mean, factor)
        self.running_var.lerp_(unbiased, factor)
