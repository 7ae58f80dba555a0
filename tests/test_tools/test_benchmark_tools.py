"""tools/analysis_tools/benchmark_*.py run end to end and print their RESULT
lines, eager and with --compile; the synthetic masks are the published ones;
the precision they train in is our wrappers'; FLOPs count attention on every
device."""
import math
import os
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from common import CONFIGS, ROOT, background_run, run_script
from conmim_mm.errors import ConfigError
from step_benchmark import (count_flops, default_amp, set_amp, summarize,
                            synthetic_views)

PRETRAIN = 'tools/analysis_tools/benchmark_pretrain.py'
PIPELINE = 'tools/analysis_tools/benchmark_pipeline.py'
VS_OFFICIAL = 'tools/analysis_tools/benchmark_vs_official.py'
TINY = osp.join(CONFIGS, 'tiny_pretrain_bench.py')
NUMBER = r'([0-9.]+(?:e[-+]?[0-9]+)?)'


def result(stdout: str, *keys: str) -> dict:
    """The numbers of the ``RESULT`` last line, which must hold ``keys``."""
    last = stdout.strip().splitlines()[-1]
    pattern = 'RESULT ' + ' '.join(f'{k}={NUMBER}' for k in keys)
    match = re.fullmatch(pattern, last)
    assert match, last
    return {k: float(v) for k, v in zip(keys, match.groups())}


def test_synthetic_mask_is_the_published_one():
    """75% of the 32-pixel cells (ceil), each covering 2x2 16-pixel
    patches, random per image; views normalised, on the device."""
    query, key, mask = synthetic_views(4, 224, 16, torch.device('cpu'))
    assert query.shape == key.shape == (4, 3, 224, 224)
    assert mask.shape == (4, 14, 14) and mask.dtype == torch.bool
    cells = mask[:, ::2, ::2]
    assert torch.equal(
        mask, cells.repeat_interleave(2, 1).repeat_interleave(2, 2))
    assert cells.flatten(1).sum(1).tolist() == [math.ceil(0.75 * 49)] * 4
    assert not torch.equal(cells[0], cells[1])
    assert abs(query.mean().item()) < 0.01
    assert abs(query.std().item() - 1) < 0.01


def test_summary_numbers():
    summary = summarize([2.0, 1.0, 4.0], batch=8, flops=3e12,
                        memory_mb=10.0, peak=3.0)
    assert summary == dict(step_s=2.0, img_per_s=4.0, peak_mem_mb=10.0,
                           tflops=1.5, mfu=0.5)


PRETRAIN_ARGS = [PRETRAIN, TINY, '--batch', '2', '--steps', '2', '--warmup',
                 '1', '--img', '64']


# the default and the compiled run as programs (in the background:
# common.background_run), --attn stock in this process (common.run_script:
# no new interpreter, as for the argument errors below)
@background_run()
def pretrain_eager_run(work_dir):
    return PRETRAIN_ARGS, {}


@background_run()
def pretrain_compiled_run(work_dir):
    return PRETRAIN_ARGS + ['--compile', 'aot_eager'], {}


def test_benchmark_pretrain(pretrain_eager_run):
    _check_pretrain(pretrain_eager_run.result, [])


def test_benchmark_pretrain_stock_attention():
    _check_pretrain(run_script(PRETRAIN_ARGS + ['--attn', 'stock']),
                    ['--attn', 'stock'])


def test_benchmark_pretrain_compiled(pretrain_compiled_run):
    _check_pretrain(pretrain_compiled_run.result, ['--compile', 'aot_eager'])


def _check_pretrain(proc, options):
    assert proc.returncode == 0, proc.stderr[-3000:]
    numbers = result(proc.stdout, 'img_per_s', 'step_s', 'peak_mem_mb')
    assert numbers['img_per_s'] == pytest.approx(2 / numbers['step_s'],
                                                 rel=1e-3)
    assert numbers['peak_mem_mb'] > 0
    # the FLOP count of a step: tiny ViT + projector, two views of 2 images
    gflop = float(re.search(r'([0-9.]+) GFLOP/step', proc.stdout).group(1))
    assert gflop > 0
    attention = 'stock' if '--attn' in options else 'sdpa'
    assert f'ConMIMPretrainViT (attention={attention})' in proc.stdout
    # compile=True's torch.compile of train_step (aot_eager: cheap to
    # compile; the tool's default is inductor); the first step compiles
    compiled = '--compile' in options
    assert (', compiled (aot_eager), ' in proc.stdout) == compiled
    assert (', eager, ' in proc.stdout) != compiled
    first = re.search(r'^first step: ([0-9.]+) s( \(compilation included\))?$',
                      proc.stdout, re.M)
    assert first and bool(first.group(2)) == compiled
    assert float(first.group(1)) > 0


def test_benchmark_pretrain_has_no_removed_options():
    proc = run_script([PRETRAIN, TINY, '--with-cp'])
    assert proc.returncode == 2
    assert 'unrecognized arguments: --with-cp' in proc.stderr


def test_benchmark_pretrain_bad_size_is_one_line():
    proc = run_script([PRETRAIN, TINY, '--batch', '2', '--img', '72'])
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(
        'error: --img 72 must be a multiple')


@background_run()
def pipeline_run(work_dir):
    return [PIPELINE, 'configs/conmim/vit-s_300e.py', '--n', '3', '--passes',
            '1'], {}


def test_benchmark_pipeline_sample_jpegs(pipeline_run):
    proc = pipeline_run.result
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'views 3x224x224 + 3x224x224, mask (14, 14)' in proc.stdout
    numbers = result(proc.stdout, 'img_per_s', 'ms_per_img')
    assert numbers['img_per_s'] * numbers['ms_per_img'] == pytest.approx(
        1000, rel=1e-3)


def test_benchmark_pipeline_user_folder(image_folder):
    """(In this process: the tool ran as a program just above.)"""
    proc = run_script([PIPELINE, 'configs/conmim/vit-s_300e.py', '--n', '5',
                       '--passes', '1', '--folder', image_folder])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'5 images ({image_folder})' in proc.stdout
    result(proc.stdout, 'img_per_s', 'ms_per_img')
    missing = run_script([PIPELINE, 'configs/conmim/vit-s_300e.py',
                          '--folder', image_folder + '/nowhere'])
    assert missing.returncode != 0 and 'Traceback' not in missing.stderr
    assert 'is not a directory' in missing.stderr


def official_root() -> str:
    """A checkout of the official code ($CONMIM_OFFICIAL_ROOT), else the
    stand-in with its module names and call signatures (CI cannot reach
    GitHub; see tests/helpers/official_standin/README.md)."""
    return os.environ.get('CONMIM_OFFICIAL_ROOT') or osp.join(
        ROOT, 'tests', 'helpers', 'official_standin')


def test_benchmark_vs_official_names_a_wrong_root(tmp_path, monkeypatch):
    """(In this process; the tool replaces torch.cuda.synchronize on a CPU,
    which monkeypatch puts back.)"""
    monkeypatch.setattr(torch.cuda, 'synchronize', torch.cuda.synchronize)
    proc = run_script([VS_OFFICIAL, TINY, '--official-root', str(tmp_path),
                       '--batch', '2'])
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: --official-root {tmp_path} is not a checkout of '
        'github.com/TencentARC/ConMIM (no modeling_pretrain.py / '
        'engine_for_pretraining.py)')


def _vs_official(*options: str) -> tuple:
    return [VS_OFFICIAL, TINY, '--official-root', official_root(), '--batch',
            '2', '--steps', '2', '--warmup', '1', '--repeats', '2',
            *options], {}


@background_run()
def vs_official_run(work_dir):
    return _vs_official()


@background_run()
def vs_official_compiled_run(work_dir):
    return _vs_official('--compile', 'aot_eager')


def test_benchmark_vs_official(vs_official_run):
    _check_vs_official(vs_official_run.result, compiled=False)


def test_benchmark_vs_official_compiled(vs_official_compiled_run):
    _check_vs_official(vs_official_compiled_run.result, compiled=True)


def _check_vs_official(proc, compiled: bool):
    assert proc.returncode == 0, proc.stderr[-3000:]
    keys = ['ours_img_per_s', 'official_img_per_s', 'ratio', 'round_ratio']
    if compiled:
        keys += ['compiled_img_per_s', 'compiled_round_ratio']
    numbers = result(proc.stdout, *keys)
    assert numbers['ratio'] == pytest.approx(
        numbers['ours_img_per_s'] / numbers['official_img_per_s'], rel=1e-3)
    assert numbers['round_ratio'] > 0
    assert re.search(r'^ours: .* img/s', proc.stdout, re.M)
    assert re.search(r'^official: .* img/s', proc.stdout, re.M)
    # one official-time / our-time figure per alternating round
    rounds = re.search(r'^speed-up per round [^:]*: (.*); median', proc.stdout,
                       re.M)
    assert rounds and len(rounds.group(1).split(', ')) == 2
    # with --compile: our step compiled too, in the same rounds
    assert bool(re.search(r'^compiled: .* img/s', proc.stdout, re.M)) == \
        compiled
    if compiled:
        assert numbers['compiled_img_per_s'] > 0
        assert numbers['compiled_round_ratio'] > 0
        assert re.search(r'^compiled \(aot_eager\): first step [0-9.]+ s '
                         r'\(compilation included\)$', proc.stdout, re.M)


def test_benchmarks_train_with_our_wrappers():
    """fp32 through CheckedOptimWrapper; bf16/fp16 through
    CheckedAmpOptimWrapper (fp16 with the dynamic loss scale), CUDA only."""
    def optim_wrapper(amp, device='cuda'):
        cfg = Config.fromfile(TINY)
        set_amp(cfg, amp, torch.device(device))
        return cfg.optim_wrapper

    fp32 = optim_wrapper('none', 'cpu')
    assert fp32.type == 'CheckedOptimWrapper'
    assert 'loss_scale' not in fp32 and 'dtype' not in fp32
    assert fp32.optimizer.type == 'AdamW'
    bf16 = optim_wrapper('bf16')
    assert bf16.type == 'CheckedAmpOptimWrapper'
    assert bf16.dtype == 'bfloat16' and 'loss_scale' not in bf16
    fp16 = optim_wrapper('fp16')
    assert fp16.type == 'CheckedAmpOptimWrapper'
    assert (fp16.dtype, fp16.loss_scale) == ('float16', 'dynamic')
    with pytest.raises(ConfigError, match='--amp bf16 needs --device cuda'):
        optim_wrapper('bf16', 'cpu')


@pytest.mark.parametrize('bf16, amp', [(True, 'bf16'), (False, 'fp16')])
def test_default_precision(monkeypatch, bf16, amp):
    """bf16 on GPUs that support it, else fp16; fp32 on CPU."""
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda: bf16)
    assert default_amp(torch.device('cuda')) == amp
    assert default_amp(torch.device('cpu')) == 'none'


def _attention_flops(batch, heads, tokens, channels):
    """Multiply-adds x 2 of the attention's two matrix products."""
    return 2 * (2 * batch * heads * tokens * tokens * channels)


@pytest.mark.parametrize('grad', ['none', 'inputs', 'inputs and bias'])
def test_flop_count_includes_attention_on_cpu(grad):
    """SDPA counts the FLOPs of its matrix products whichever kernel runs
    it: the fused CPU kernels (unknown to torch's counter) from the shapes,
    the decomposed path (known) once, not twice."""
    query = torch.randn(2, 3, 17, 8, requires_grad=grad != 'none')
    bias = torch.randn(1, 3, 17, 17, requires_grad=grad == 'inputs and bias')

    def attention():
        out = torch.nn.functional.scaled_dot_product_attention(
            query, query, query, attn_mask=bias)
        if grad != 'none':
            out.sum().backward()

    forward = _attention_flops(2, 3, 17, 8)
    flops = count_flops(attention)
    if grad == 'none':
        assert flops == forward
    else:
        # backward: torch's own formulas, 2 (decomposed) or 2.5 (fused,
        # scores recomputed) times the forward
        assert flops in (3 * forward, forward * 7 // 2)


def test_flop_count_of_a_vit_s_block_attention():
    """The ViT-S/16 teacher's attention (no grad, bias mask) at 224px."""
    query = torch.randn(2, 6, 197, 64)
    bias = torch.randn(1, 6, 197, 197)
    with torch.no_grad():
        flops = count_flops(lambda: torch.nn.functional.
                            scaled_dot_product_attention(
                                query, query, query, attn_mask=bias))
    assert flops == _attention_flops(2, 6, 197, 64)


def test_benchmark_tools_use_no_private_torch_api():
    """No private PyTorch operator or module is called by the benchmark
    code (``torch._foreach_*`` is public API; ``official_code.py`` names
    ``torch._six`` only to install a stand-in the official code imports)."""
    folder = osp.join(ROOT, 'tools', 'analysis_tools')
    for name in sorted(os.listdir(folder)):
        if not name.endswith('.py'):
            continue
        with open(osp.join(folder, name)) as f:
            source = f.read()
        if name == 'official_code.py':
            source = source.replace("'torch._six'", '').replace(
                '``torch._six``', '')
        assert not re.search(r'torch\.ops\.aten\._|torch\._(?!foreach_)',
                             source), name
