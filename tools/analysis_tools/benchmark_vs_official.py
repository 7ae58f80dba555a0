"""Our pre-training step against the official ConMIM step, in one process.

Builds the model of CONFIG both ways, our ConMIM (mmengine ``train_step`` +
momentum update) and the official ``VisionTransformerForMaskedImageModeling``
pair trained by the official ``engine_for_pretraining.train_one_epoch``
(AdamW over ``optim_factory.get_parameter_groups``, ``NativeScaler``, fp16
autocast on CUDA, per-parameter momentum loop), and times them on the same
synthetic views and mask, alternating ``--repeats`` rounds of ours and
theirs (each first in every other round) so that load on the machine hits
both alike. The official code is not part of this project; check it out and
pass its folder::

    git clone https://github.com/TencentARC/ConMIM /tmp/ConMIM
    python tools/analysis_tools/benchmark_vs_official.py \
        configs/conmim/vit-b_300e.py --official-root /tmp/ConMIM \
        --batch 128 --device cuda --amp bf16

The official step has no DDP wrapper here (single process) and its loss
hard-codes 196 patches, so the input is 224 pixels with 16-pixel patches.
Peak memory is what one step adds to the memory held before it (CUDA: both
models share the process) or the process's peak RSS (CPU, both together).
Ours trains through ``CheckedOptimWrapper`` (fp32) or
``CheckedAmpOptimWrapper`` (bf16/fp16 on CUDA), as in training; FLOPs are
``step_benchmark.count_flops``'s.
``--compile`` adds a third contender, our step compiled as mmengine's
``compile=True`` compiles it (``torch.compile`` of ``train_step``, inductor
unless a backend is named), built from the same seed and timed in the same
rounds (each of the three goes first in turn); its first step, compilation
included, is printed on its own.
Prints one line per implementation and, last,
``RESULT ours_img_per_s=<f> official_img_per_s=<f> ratio=<f>
round_ratio=<f>`` (with ``--compile`` followed by
``compiled_img_per_s=<f> compiled_round_ratio=<f>``): ``ratio`` is ours /
official from the median step time of each over all rounds;
``round_ratio`` is the median over rounds of official time / our time
within the round, which a change of load during the run (other processes on
a shared machine) moves far less; ``compiled_round_ratio`` is the same for
our eager time / our compiled time.
"""
import argparse
import statistics
import time
import types
from functools import partial
from typing import Iterator, List

import torch
import torch.nn as nn
from mmengine.config import Config, DictAction

import conmim_mm  # noqa: F401
import step_benchmark as bench
from conmim_mm.errors import ConfigError
from official_code import import_official_code


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='pre-training config')
    parser.add_argument('--official-root', required=True,
                        help='checkout of github.com/TencentARC/ConMIM')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--steps', type=int, default=2,
                        help='timed steps per round')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed steps of each first')
    parser.add_argument('--repeats', type=int, default=10,
                        help='alternating rounds of ours and official')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--amp', choices=['none', 'fp16', 'bf16'],
                        default=None, help='our precision (default: bf16 '
                        'on GPUs that support it, else fp16 on CUDA, none on '
                        'CPU); the official step uses fp16 autocast on CUDA, '
                        'fp32 on CPU')
    parser.add_argument('--compile', nargs='?', const='inductor',
                        default=None, metavar='BACKEND',
                        help='also time our step compiled as compile=True '
                        'compiles it (backend: inductor unless named)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='key=value overrides of the config')
    return parser.parse_args()


class Unwrapped(nn.Module):
    """The ``.module`` access of DDP, without DDP (one process)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)


class OfficialStep:
    """The official training iteration of the model ``cfg`` describes.

    Args:
        official (types.SimpleNamespace): From
            :func:`official_code.import_official_code`.
        cfg (Config): Our config; its backbone arch, layer scale, projector
            sizes and optimizer settings are used.
        device (torch.device): Where to run.
    """

    def __init__(self, official: types.SimpleNamespace, cfg: Config,
                 device: torch.device) -> None:
        from mmpretrain.models.backbones.beit import BEiTViT
        arch = cfg.model.backbone.arch
        arch = BEiTViT.arch_zoo[arch] if isinstance(arch, str) else arch
        neck = cfg.model.neck
        build = partial(
            official.modeling.VisionTransformerForMaskedImageModeling,
            img_size=224, patch_size=16, embed_dim=arch['embed_dims'],
            depth=arch['num_layers'], num_heads=arch['num_heads'],
            mlp_ratio=arch['feedforward_channels'] / arch['embed_dims'],
            qkv_bias=True, dim=neck.out_channels, mlp_dim=neck.hid_channels,
            norm_layer=partial(nn.LayerNorm, eps=1e-6),
            init_values=cfg.model.backbone.layer_scale_init_value,
            use_abs_pos_emb=False, use_shared_rel_pos_bias=True,
            use_mlp_projectors=True)
        self.official = official
        self.student = build().to(device)
        self.teacher = build().to(device)
        self.teacher.load_state_dict(self.student.state_dict())
        self.teacher.requires_grad_(False)
        optim = cfg.optim_wrapper.optimizer
        groups = official.optim_factory.get_parameter_groups(
            self.student, optim.weight_decay, self.student.no_weight_decay())
        self.optimizer = torch.optim.AdamW(
            groups, lr=optim.lr, betas=optim.betas, eps=optim.eps)
        self.scaler = official.utils.NativeScalerWithGradNormCount()
        if not self.scaler._scaler.is_enabled():  # CPU: the loop logs a scale
            self.scaler.state_dict = lambda: dict(scale=1.0)
        self.clip = cfg.optim_wrapper.clip_grad.max_norm
        self.temperature = cfg.model.head.temperature
        self.device = device
        self.steps_done = 0

    def run(self, batch: tuple, steps: int) -> List[float]:
        """Run ``steps`` official iterations on ``batch``; seconds of each.

        The time of a step is the time between two requests of the official
        loop for its next batch.
        """
        stamps = []

        def loader() -> Iterator[tuple]:
            for _ in range(steps):
                stamps.append(time.perf_counter())
                yield batch, None
            bench.synchronize(self.device)
            stamps.append(time.perf_counter())

        data = _Sized(loader(), steps)
        self.official.engine.train_one_epoch(
            Unwrapped(self.student), data, self.optimizer, self.device, 0,
            self.scaler, [0.996] * (self.steps_done + steps), self.teacher,
            self.teacher, self.temperature, self.clip,
            start_steps=self.steps_done)
        self.steps_done += steps
        return [b - a for a, b in zip(stamps[:-1], stamps[1:])]


class _Sized:
    """An iterator with ``len`` (the official MetricLogger asks for it)."""

    def __init__(self, iterator: Iterator, length: int) -> None:
        self.iterator, self.length = iterator, length

    def __iter__(self) -> Iterator:
        return self.iterator

    def __len__(self) -> int:
        return self.length


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('error: --device cuda, but no CUDA device is visible')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    amp = args.amp or bench.default_amp(device)
    try:
        bench.set_amp(cfg, amp, device)
        query, key, mask = bench.synthetic_views(args.batch, 224, 16, device)
    except ConfigError as error:
        raise SystemExit(f'error: {error}')
    if device.type == 'cpu':
        torch.cuda.synchronize = lambda *a, **k: None  # official loop calls it

    try:
        official = import_official_code(args.official_root)
    except FileNotFoundError as error:
        raise SystemExit(f'error: --official-root {error}')
    torch.manual_seed(0)
    ours = bench.ConMIMStep(cfg, device)
    theirs = OfficialStep(official, cfg, device)
    official_batch = (query, key, mask)
    steps = dict(ours=lambda: ours(query, key, mask),
                 official=lambda: theirs.run(official_batch, 1))
    if args.compile:
        torch.manual_seed(0)
        compiled = bench.ConMIMStep(cfg, device, compile=args.compile)
        steps['compiled'] = lambda: compiled(query, key, mask)
        first = bench.first_step_s(steps['compiled'], device)
        print(f'compiled ({args.compile}): first step {first:.2f} s '
              '(compilation included)')

    names = list(steps)
    times = {name: [] for name in names}
    bench.time_steps(steps['ours'], 0, args.warmup, device)
    theirs.run(official_batch, args.warmup)
    if args.compile:
        bench.time_steps(steps['compiled'], 0, args.warmup, device)
    runs = {name: lambda step=steps[name]: bench.time_steps(
        step, args.steps, 0, device) for name in names if name != 'official'}
    runs['official'] = lambda: theirs.run(official_batch, args.steps)
    for round_ in range(args.repeats):
        # each goes first in turn (ABBA with two), so none always inherits
        # another's freed memory and warm caches
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            times[name] += runs[name]()

    results = {}
    flops = dict(ours=bench.count_flops(steps['ours']),
                 official=bench.count_flops(steps['official']))
    flops['compiled'] = flops['ours']  # the same step
    for name in names:
        # the models live in this process: count what the step adds
        # (activations, temporaries) on CUDA; the process peak RSS on CPU
        held = torch.cuda.memory_allocated(device) / 2**20 \
            if device.type == 'cuda' else 0.
        bench.reset_peak_memory(device)
        steps[name]()
        memory = bench.peak_memory_mb(device) - held
        results[name] = bench.summarize(
            times[name], args.batch, flops[name], memory,
            bench.peak_tflops(device, 'fp16' if name == 'official' else amp))
        print(bench.format_summary(name, results[name]))
        print('  per-round medians: ' + ', '.join(
            f'{statistics.median(times[name][i:i + args.steps]):.4f}'
            for i in range(0, len(times[name]), args.steps)))

    def per_round(slow: str, fast: str) -> List[float]:
        return [
            sum(times[slow][i:i + args.steps]) /
            sum(times[fast][i:i + args.steps])
            for i in range(0, len(times[fast]), args.steps)
        ]

    rounds = per_round('official', 'ours')
    print('speed-up per round (official time / ours, same load): ' +
          ', '.join(f'{r:.3f}' for r in rounds) +
          f'; median {statistics.median(rounds):.3f}')
    ratio = results['ours']['img_per_s'] / results['official']['img_per_s']
    line = (f'RESULT ours_img_per_s={results["ours"]["img_per_s"]:.4f} '
            f'official_img_per_s={results["official"]["img_per_s"]:.4f} '
            f'ratio={ratio:.4f} round_ratio={statistics.median(rounds):.4f}')
    if args.compile:
        gains = per_round('ours', 'compiled')
        print('compiled speed-up per round (eager time / compiled, same '
              'load): ' + ', '.join(f'{r:.3f}' for r in gains) +
              f'; median {statistics.median(gains):.3f}')
        line += (f' compiled_img_per_s='
                 f'{results["compiled"]["img_per_s"]:.4f} '
                 f'compiled_round_ratio={statistics.median(gains):.4f}')
    print(line)

if __name__ == '__main__':
    main()
