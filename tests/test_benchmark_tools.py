"""The benchmark tools run end to end and print their RESULT lines; the
synthetic masks are the published ones; the GPU precision default."""
import math
import os
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from conftest import CONFIGS, ROOT, run_tool
from conmim_mm.analysis.step_benchmark import summarize, synthetic_views
from conmim_mm.launch import fit_amp_to_device

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


@pytest.mark.parametrize('options', [[], ['--attn', 'stock'],
                                     ['--with-cp']])
def test_benchmark_pretrain(options):
    proc = run_tool([PRETRAIN, TINY, '--batch', '2', '--steps', '2',
                     '--warmup', '1', '--img', '64'] + options)
    assert proc.returncode == 0, proc.stderr[-3000:]
    numbers = result(proc.stdout, 'img_per_s', 'step_s', 'peak_mem_mb')
    assert numbers['img_per_s'] == pytest.approx(2 / numbers['step_s'],
                                                 rel=1e-3)
    assert numbers['peak_mem_mb'] > 0
    # the FLOP count of a step: tiny ViT + projector, two views of 2 images
    gflop = float(re.search(r'([0-9.]+) GFLOP/step', proc.stdout).group(1))
    assert gflop > 0
    attention = 'stock' if '--attn' in options else 'sdpa'
    assert f'attention={attention}' in proc.stdout
    assert f'with_cp={"--with-cp" in options}' in proc.stdout


def test_benchmark_pretrain_bad_size_is_one_line():
    proc = run_tool([PRETRAIN, TINY, '--batch', '2', '--img', '72'])
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(
        'error: --img 72 must be a multiple')


def test_benchmark_pipeline_sample_jpegs():
    proc = run_tool([PIPELINE, 'configs/conmim/vit-s_300e.py', '--n', '3',
                     '--passes', '1'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'views 3x224x224 + 3x224x224, mask (14, 14)' in proc.stdout
    numbers = result(proc.stdout, 'img_per_s', 'ms_per_img')
    assert numbers['img_per_s'] * numbers['ms_per_img'] == pytest.approx(
        1000, rel=1e-3)


def test_benchmark_pipeline_user_folder(image_folder):
    proc = run_tool([PIPELINE, 'configs/conmim/vit-s_300e.py', '--n', '5',
                     '--passes', '1', '--folder', image_folder])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'5 images ({image_folder})' in proc.stdout
    result(proc.stdout, 'img_per_s', 'ms_per_img')
    missing = run_tool([PIPELINE, 'configs/conmim/vit-s_300e.py',
                        '--folder', image_folder + '/nowhere'])
    assert missing.returncode != 0 and 'Traceback' not in missing.stderr
    assert 'is not a directory' in missing.stderr


def official_root() -> str:
    """A checkout of the official code ($CONMIM_OFFICIAL_ROOT), else the
    stand-in with its module names and call signatures (CI cannot reach
    GitHub; see tests/helpers/official_standin/README.md)."""
    return os.environ.get('CONMIM_OFFICIAL_ROOT') or osp.join(
        ROOT, 'tests', 'helpers', 'official_standin')


def test_benchmark_vs_official_names_a_wrong_root(tmp_path):
    proc = run_tool([VS_OFFICIAL, TINY, '--official-root', str(tmp_path),
                     '--batch', '2'])
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: --official-root {tmp_path} is not a checkout of '
        'github.com/TencentARC/ConMIM (no modeling_pretrain.py / '
        'engine_for_pretraining.py)')


def test_benchmark_vs_official():
    proc = run_tool([VS_OFFICIAL, TINY, '--official-root', official_root(),
                     '--batch', '2', '--steps', '2', '--warmup', '1',
                     '--repeats', '2'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    numbers = result(proc.stdout, 'ours_img_per_s', 'official_img_per_s',
                     'ratio')
    assert numbers['ratio'] == pytest.approx(
        numbers['ours_img_per_s'] / numbers['official_img_per_s'], rel=1e-3)
    assert re.search(r'^ours: .* img/s', proc.stdout, re.M)
    assert re.search(r'^official: .* img/s', proc.stdout, re.M)
    # one official-time / our-time figure per alternating round
    rounds = re.search(r'^speed-up per round [^:]*: (.*); median', proc.stdout,
                       re.M)
    assert rounds and len(rounds.group(1).split(', ')) == 2


@pytest.mark.parametrize('bf16, dtype, scaler', [
    (True, 'bfloat16', dict(enabled=False)),
    (False, 'float16', 'dynamic')])
def test_gpu_precision_default(monkeypatch, bf16, dtype, scaler):
    """On a GPU, the published configs train in bf16 without a loss scale
    where supported, else fp16 with the dynamic scale; on CPU in fp32."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'conmim',
                                   'vit-s_300e.py'))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda: bf16)
    fit_amp_to_device(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == dtype
    assert cfg.optim_wrapper.loss_scale == scaler
    explicit = Config.fromfile(osp.join(ROOT, 'configs', 'conmim',
                                        'vit-s_300e.py'))
    explicit.optim_wrapper.dtype = 'float16'
    fit_amp_to_device(explicit)
    assert explicit.optim_wrapper.dtype == 'float16'


def test_cpu_precision_is_fp32():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'conmim',
                                   'vit-s_300e.py'))
    fit_amp_to_device(cfg)
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert 'loss_scale' not in cfg.optim_wrapper


def test_loss_is_fp32_under_bf16_autocast():
    """The contrastive logits and loss are computed in fp32 when the
    features come out of a bf16 autocast region."""
    from conmim_mm.models import ConMIMHead
    head = ConMIMHead()
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 2, 16, 8).unbind(0)
    mask = torch.tensor([[True, False] * 8, [False, True] * 8])
    reference = head.loss(student, teacher, mask)['loss']
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = head.loss(student.bfloat16(), teacher.bfloat16(), mask)
    assert low['loss'].dtype == torch.float32
    exact = head.loss(student.bfloat16().float(),
                      teacher.bfloat16().float(), mask)['loss']
    assert low['loss'].item() == exact.item()
    assert abs(low['loss'].item() - reference.item()) < 0.05


def test_flop_count_includes_cpu_flash_attention():
    """SDPA on CPU (PyTorch's flash kernel without grad) counts the FLOPs
    of its two matrix products, as the math path would."""
    from torch.utils.flop_counter import FlopCounterMode

    from conmim_mm.analysis.step_benchmark import count_flops
    query = torch.randn(2, 3, 17, 8)
    bias = torch.randn(1, 3, 17, 17)

    def attention():
        return torch.nn.functional.scaled_dot_product_attention(
            query, query, query, attn_mask=bias)

    with torch.no_grad():
        flops = count_flops(attention)
        with FlopCounterMode(display=False) as counter:
            attention()
        ops = {str(op) for op in counter.get_flop_counts()['Global']}
    assert flops == 2 * (2 * 2 * 3 * 17 * 17 * 8)
    assert any('flash_attention_for_cpu' in op for op in ops), ops
