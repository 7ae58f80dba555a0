"""Time full ConMIM pre-training iterations of a config.

Each iteration is what ``tools/train.py`` runs per batch: data preprocessor,
teacher forward (no grad), student forward and backward, gradient clipping,
optimizer step and momentum update, on synthetic views and the published
mask generated on the device. Prints the median step time, images/s, peak
memory (CUDA: allocated; CPU: the process's peak resident set), achieved
TFLOP/s from a FLOP count of one step (``torch.utils.flop_counter``; the
attention from its shapes where the counter does not know PyTorch's kernel,
as on CPU) and the MFU where the GPU's peak is known; the last line is
``RESULT img_per_s=<float> step_s=<float> peak_mem_mb=<float>``.
``--compile`` compiles the step as mmengine's ``compile=True`` does
(``torch.compile`` of ``train_step``, inductor unless a backend is named)
and prints the first step's time, compilation included.

Example::

    python tools/analysis_tools/benchmark_pretrain.py \
        configs/conmim/vit-b_300e.py --batch 128 --device cuda --amp bf16 \
        [--compile]
"""
import argparse

import torch
from mmengine.config import Config, DictAction

import conmim_mm  # noqa: F401
import step_benchmark as bench
from conmim_mm.errors import ConfigError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='pre-training config')
    parser.add_argument('--batch', type=int, default=32,
                        help='images per step')
    parser.add_argument('--steps', type=int, default=10,
                        help='timed steps')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed steps first (the first of them is '
                        'timed on its own: with --compile, the compilation)')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default=None,
                        help='default: cuda when available')
    parser.add_argument('--amp', choices=['none', 'fp16', 'bf16'],
                        default=None, help='default: bf16 on GPUs that '
                        'support it, else fp16 on CUDA, none on CPU')
    parser.add_argument('--attn', choices=['sdpa', 'stock'],
                        default=None, help='attention of ConMIMPretrainViT: '
                        'scaled_dot_product_attention or mmpretrain\'s '
                        'matmul-softmax-matmul (default: the config\'s)')
    parser.add_argument('--img', type=int, default=None,
                        help='input size (default: the config\'s)')
    parser.add_argument('--compile', nargs='?', const='inductor',
                        default=None, metavar='BACKEND',
                        help='torch.compile the training step as '
                        'compile=True does (backend: inductor unless named)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='key=value overrides of the config')
    return parser.parse_args()


def configure(cfg: Config, args: argparse.Namespace,
              device: torch.device) -> int:
    """Apply the command-line options to ``cfg``; returns the input size."""
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    backbone = cfg.model.backbone
    if args.attn:
        if backbone.type != 'ConMIMPretrainViT':
            raise ConfigError('--attn needs a ConMIMPretrainViT backbone, the '
                              f'config has {backbone.type}')
        backbone.attention = args.attn
    if args.img:
        backbone.img_size = args.img
    bench.set_amp(cfg, args.amp or bench.default_amp(device), device)
    return backbone.get('img_size', 224)


def main() -> None:
    args = parse_args()
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('error: --device cuda, but no CUDA device is visible')
    if args.batch < 2 or args.steps < 1 or args.warmup < 0:
        raise SystemExit('error: --batch must be >= 2 (BatchNorm), --steps '
                         '>= 1 and --warmup >= 0')
    cfg = Config.fromfile(args.config)
    try:
        img_size = configure(cfg, args, device)
        patch_size = cfg.model.backbone.get('patch_size', 16)
        masking = next((t for t in cfg.train_pipeline
                        if t.type == 'SimMIMMaskGenerator'), {})
        views = bench.synthetic_views(
            args.batch, img_size, patch_size, device,
            mask_ratio=masking.get('mask_ratio', 0.75),
            mask_cell=masking.get('mask_patch_size', 32))
    except ConfigError as error:
        raise SystemExit(f'error: {error}')
    amp = args.amp or bench.default_amp(device)

    torch.manual_seed(0)
    step = bench.ConMIMStep(cfg, device, compile=args.compile)
    bench.reset_peak_memory(device)
    first = bench.first_step_s(lambda: step(*views), device)
    times = bench.time_steps(lambda: step(*views), args.steps,
                             max(args.warmup - 1, 0), device)
    memory = bench.peak_memory_mb(device)
    flops = bench.count_flops(lambda: step(*views))
    result = bench.summarize(times, args.batch, flops, memory,
                             bench.peak_tflops(device, amp))
    backbone = cfg.model.backbone
    attention = backbone.get('attention', 'sdpa') \
        if backbone.type == 'ConMIMPretrainViT' else 'stock'
    compiled = f'compiled ({args.compile})' if args.compile else 'eager'
    print(f'{args.config}: {backbone.type} (attention={attention}), batch '
          f'{args.batch}, {img_size}px, amp {amp}, {device}, {compiled}, '
          f'{flops / 1e9:.4f} GFLOP/step')
    print(f'first step: {first:.2f} s' +
          (' (compilation included)' if args.compile else ''))
    print(bench.format_summary('step', result))
    print(f'RESULT img_per_s={result["img_per_s"]:.4f} '
          f'step_s={result["step_s"]:.6f} '
          f'peak_mem_mb={result["peak_mem_mb"]:.1f}')


if __name__ == '__main__':
    main()
