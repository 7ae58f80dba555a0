"""Timing of full ConMIM pre-training iterations on synthetic inputs.

Shared by ``tools/analysis_tools/benchmark_pretrain.py`` and
``tools/analysis_tools/benchmark_vs_official.py``. A step is whatever
callable runs one whole iteration (teacher forward, student forward and
backward, optimizer step, momentum update); this module builds ours from a
config, feeds it synthetic views and masks made on the device, and measures
median time, peak memory and FLOPs.
"""
import math
import statistics
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample
from torch.overrides import TorchFunctionMode
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

from conmim_mm.errors import ConfigError

# dense bf16/fp16 tensor-core peaks (TFLOP/s) of the GPUs we know; fp32 is
# looked up with the 'fp32' key (non-tensor-core)
PEAK_TFLOPS = {
    'H100': {'bf16': 989.0, 'fp16': 989.0, 'fp32': 67.0},
    'H200': {'bf16': 989.0, 'fp16': 989.0, 'fp32': 67.0},
    'A100': {'bf16': 312.0, 'fp16': 312.0, 'fp32': 19.5},
    'V100': {'fp16': 125.0, 'fp32': 15.7},
    'A10': {'bf16': 125.0, 'fp16': 125.0, 'fp32': 31.2},
    'L4': {'bf16': 121.0, 'fp16': 121.0, 'fp32': 30.3},
}


def synthetic_views(batch: int, img_size: int, patch_size: int,
                    device: torch.device, mask_ratio: float = 0.75,
                    mask_cell: int = 32,
                    seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor,
                                            torch.Tensor]:
    """Two normalised views and the published SimMIM-style mask.

    The mask covers ``ceil(mask_ratio * cells)`` random ``mask_cell``-pixel
    cells of each image, upsampled to the patch grid, as mmpretrain's
    ``SimMIMMaskGenerator`` in the pre-training configs.

    Args:
        batch (int): Images per view.
        img_size (int): Square input size.
        patch_size (int): ViT patch size.
        device (torch.device): Where the tensors are made.
        mask_ratio (float): Fraction of masked cells. Defaults to 0.75.
        mask_cell (int): Mask cell size in pixels. Defaults to 32.
        seed (int): Generator seed. Defaults to 0.

    Returns:
        tuple: query view (B, 3, S, S), key view (B, 3, S, S), mask
        (B, S/p, S/p) bool.
    """
    if img_size % mask_cell or mask_cell % patch_size:
        raise ConfigError(f'--img {img_size} must be a multiple of the '
                          f'{mask_cell}-pixel mask cell, itself a multiple '
                          f'of the {patch_size}-pixel patch')
    generator = torch.Generator(device=device).manual_seed(seed)
    query, key = torch.randn(
        2, batch, 3, img_size, img_size, device=device, generator=generator)
    cells = img_size // mask_cell
    order = torch.rand(
        batch, cells * cells, device=device, generator=generator).argsort(1)
    masked = math.ceil(mask_ratio * cells * cells)
    mask = (order < masked).reshape(batch, cells, cells)
    scale = mask_cell // patch_size
    mask = mask.repeat_interleave(scale, 1).repeat_interleave(scale, 2)
    return query, key, mask


def default_amp(device: torch.device) -> str:
    """The precision ``CheckedAmpOptimWrapper`` trains in on ``device``:
    bf16 on GPUs that support it, fp16 on other GPUs, none (fp32) on CPU."""
    if device.type != 'cuda':
        return 'none'
    return 'bf16' if torch.cuda.is_bf16_supported() else 'fp16'


def set_amp(cfg: Config, amp: str, device: torch.device) -> None:
    """Point ``cfg.optim_wrapper`` at our wrapper for ``amp``.

    ``'none'``: ``CheckedOptimWrapper`` (fp32); ``'bf16'`` / ``'fp16'``:
    ``CheckedAmpOptimWrapper`` with that autocast type (fp16 with a dynamic
    loss scale, bf16 without one). Both stop at a non-finite loss or weight,
    as in training.

    Raises:
        ConfigError: For ``'bf16'`` / ``'fp16'`` on a device other than
            CUDA (``CheckedAmpOptimWrapper`` would train in fp32 there).
    """
    wrapper = cfg.optim_wrapper
    for key in ('loss_scale', 'dtype'):
        wrapper.pop(key, None)
    if amp == 'none':
        wrapper.type = 'CheckedOptimWrapper'
        return
    if device.type != 'cuda':
        raise ConfigError(f'--amp {amp} needs --device cuda')
    wrapper.type = 'CheckedAmpOptimWrapper'
    if amp == 'fp16':
        wrapper.update(dtype='float16', loss_scale='dynamic')
    else:
        wrapper.update(dtype='bfloat16')


class ConMIMStep:
    """One mmengine training iteration of the ConMIM model of a config.

    Runs ``model.train_step`` (data preprocessor, autocast from the optim
    wrapper, loss, backward, clipping, optimizer step) and then the momentum
    update, as ``tools/train.py`` does with ``TeacherUpdateHook``.

    Args:
        cfg (Config): A pre-training config (its ``model`` and
            ``optim_wrapper`` are used).
        device (torch.device): Where to run.
        max_iters (int): Length of the momentum schedule. Defaults to 1000.
        compile (str, optional): A ``torch.compile`` backend
            (``'inductor'``, mmengine's default): ``train_step`` is compiled
            as mmengine's ``compile=True`` compiles it. Defaults to None
            (eager).
    """

    def __init__(self, cfg: Config, device: torch.device,
                 max_iters: int = 1000,
                 compile: Optional[str] = None) -> None:
        from mmengine.logging import MessageHub
        from mmengine.registry import init_default_scope
        from mmpretrain.registry import MODELS
        init_default_scope('mmpretrain')
        self.model = MODELS.build(cfg.model)
        self.model.init_weights()
        self.model.to(device).train()
        self.model.follow_student_with(type(self).__name__)
        self.optim_wrapper = build_optim_wrapper(self.model, cfg.optim_wrapper)
        self.hub = MessageHub.get_current_instance()
        self.hub.update_info('max_iters', max_iters)
        self.max_iters = max_iters
        self.iteration = 0
        if compile:
            self.model.train_step = torch.compile(
                self.model.train_step, backend=compile)

    def __call__(self, query: torch.Tensor, key: torch.Tensor,
                 mask: torch.Tensor) -> torch.Tensor:
        """Run one iteration.

        Args:
            query (torch.Tensor): Student view (B, 3, H, W).
            key (torch.Tensor): Teacher view (B, 3, H, W).
            mask (torch.Tensor): (B, h, w) bool patch mask.

        Returns:
            torch.Tensor: The loss (scalar).
        """
        samples = []
        for image_mask in mask:
            sample = DataSample()
            sample.set_mask(image_mask)
            samples.append(sample)
        data = dict(inputs=[query, key], data_samples=samples)
        log_vars = self.model.train_step(data, self.optim_wrapper)
        self.hub.update_info('iter', self.iteration)
        self.model.momentum_update(self.iteration, self.max_iters)
        self.iteration += 1
        return log_vars['loss']


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (no-op on CPU)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def first_step_s(step: Callable[[], object], device: torch.device) -> float:
    """Seconds of one call of ``step`` (the first: with ``torch.compile``,
    compilation included)."""
    start = time.perf_counter()
    step()
    synchronize(device)
    return time.perf_counter() - start


def time_steps(step: Callable[[], object], steps: int, warmup: int,
               device: torch.device) -> List[float]:
    """Seconds of each of ``steps`` calls of ``step`` after ``warmup``."""
    for _ in range(warmup):
        step()
    synchronize(device)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times


class _BackwardFlops(torch.autograd.Function):
    """Identity whose backward adds the FLOPs of an attention backward that
    the FLOP counter cannot see to ``counter.flops``."""

    @staticmethod
    def forward(ctx, out: torch.Tensor, counter: '_UncountedAttention',
                flops: int) -> torch.Tensor:
        ctx.counter, ctx.flops = counter, flops
        return out.view_as(out)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        ctx.counter.flops += ctx.flops
        return grad, None, None


class _UncountedAttention(TorchFunctionMode):
    """Adds the FLOPs of ``scaled_dot_product_attention`` calls that
    ``FlopCounterMode`` counts as zero.

    The counter knows the decomposed (math) path and the CUDA kernels, not
    every fused kernel (e.g. not those PyTorch picks on CPU). A call during
    which ``counter`` counted nothing gets the FLOPs of its two matrix
    products from the shapes (``flop_counter.sdpa_flop_count``), and of its
    backward, when there is one, from ``sdpa_backward_flop_count``.

    Args:
        counter (FlopCounterMode): The active counter.
    """

    def __init__(self, counter: FlopCounterMode) -> None:
        super().__init__()
        self.counter = counter
        self.flops = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is not F.scaled_dot_product_attention:
            return func(*args, **kwargs)
        before = self.counter.get_total_flops()
        out = func(*args, **kwargs)
        if self.counter.get_total_flops() != before:
            return out
        names = ('query', 'key', 'value')
        query, key, value = (list(args[:3]) +
                             [kwargs[n] for n in names[len(args[:3]):]])
        shapes = (query.shape, key.shape, value.shape)
        self.flops += flop_counter.sdpa_flop_count(*shapes)
        if out.requires_grad:
            out = _BackwardFlops.apply(
                out, self,
                flop_counter.sdpa_backward_flop_count(out.shape, *shapes))
        return out


def count_flops(step: Callable[[], object]) -> int:
    """FLOPs of one call of ``step``.

    ``torch.utils.flop_counter.FlopCounterMode`` counts the operators it
    has formulas for; attention computed by a fused kernel it has none for
    (the CPU kernels of ``scaled_dot_product_attention``) is counted from
    the shapes instead (:class:`_UncountedAttention`). Other operators
    without a formula (element-wise work, normalisation) count zero, as
    in any FLOP count of this kind. A compiled step is counted as it runs
    eagerly (the same operators; inductor's generated kernels would bypass
    the counter).
    """
    counter = FlopCounterMode(display=False)
    attention = _UncountedAttention(counter)
    with counter, attention, torch.compiler.set_stance('force_eager'):
        step()
    return counter.get_total_flops() + attention.flops


def peak_tflops(device: torch.device, amp: str) -> Optional[float]:
    """Dense peak TFLOP/s of ``device`` for ``amp``, None when unknown."""
    if device.type != 'cuda':
        return None
    name = torch.cuda.get_device_name(device)
    precision = 'fp32' if amp == 'none' else amp
    for model, peaks in PEAK_TFLOPS.items():
        if model in name.split() or f'{model}-' in name or f' {model}' in name:
            return peaks.get(precision)
    return None


def reset_peak_memory(device: torch.device) -> None:
    """Start a new peak-memory window (CUDA only)."""
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> float:
    """Peak allocated device memory since the last reset (CUDA) or the peak
    resident set size of the process (CPU), in MiB."""
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summarize(times: List[float], batch: int, flops: int,
              memory_mb: float, peak: Optional[float]) -> Dict[str, float]:
    """Median step time, images/s, memory, TFLOP/s and MFU of a run.

    Args:
        times (list[float]): Seconds per step.
        batch (int): Images per step.
        flops (int): FLOPs of one step.
        memory_mb (float): Peak memory in MiB.
        peak (float, optional): Device peak TFLOP/s.

    Returns:
        dict[str, float]: ``step_s``, ``img_per_s``, ``peak_mem_mb``,
        ``tflops`` and, when ``peak`` is known, ``mfu`` (fraction).
    """
    step_s = statistics.median(times)
    result = dict(
        step_s=step_s,
        img_per_s=batch / step_s,
        peak_mem_mb=memory_mb,
        tflops=flops / step_s / 1e12)
    if peak:
        result['mfu'] = result['tflops'] / peak
    return result


def format_summary(name: str, result: Dict[str, float]) -> str:
    """One human-readable line of :func:`summarize`'s result."""
    line = (f'{name}: {result["step_s"]:.4f} s/step (median), '
            f'{result["img_per_s"]:.2f} img/s, peak memory '
            f'{result["peak_mem_mb"]:.0f} MiB, {result["tflops"]:.3f} '
            'TFLOP/s')
    if 'mfu' in result:
        line += f', MFU {100 * result["mfu"]:.1f}%'
    return line
