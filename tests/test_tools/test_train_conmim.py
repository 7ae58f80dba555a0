"""ConMIM pre-training through tools/train.py: the demo, exact resume, the
momentum schedule, the demo compiled (compile=True: the eager losses, exact
resume) and in bf16 autocast (close to fp32), the published config on
CPU."""
import math
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from conftest import ROOT, run_tool
from conmim_mm.checkpoints import load_checkpoint_file
from faults import assert_same_state

DEMO = osp.join(ROOT, 'configs', 'conmim', 'demo_vit-tiny.py')
FAST = [
    'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=1',
    'default_hooks.checkpoint.max_keep_ckpts=-1',
    'default_hooks.logger.interval=1', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'train_dataloader.batch_size=4',
    'param_scheduler.0.end=2', 'param_scheduler.1.begin=2'
]


def _ok(result):
    assert result.returncode == 0, \
        result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


# compile=True with dynamo's cheaper aot_eager backend (AOTAutograd without
# inductor's code generation, which takes ~30 s per run on 2 cores here);
# docs/benchmarks.md measures inductor, mmengine's default
COMPILED = ['--cfg-options', 'compile.backend=aot_eager']


def _demo(work_dir, *extra):
    return _ok(run_tool(['tools/train.py', DEMO, '--work-dir', str(work_dir),
                         *extra, '--cfg-options', *FAST]))


def _losses(checkpoint: dict) -> list:
    return checkpoint['message_hub']['log_scalars']['train/loss'][
        'log_history']


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('demo')
    log = _demo(work_dir)
    return work_dir, log


def _momentum(cur_iter: int, max_iters: int) -> float:
    """The cosine schedule from the demo's base momentum (0.99) to 1."""
    from mmengine.config import Config
    base = Config.fromfile(DEMO).model.teacher_momentum
    return 1 - (1 - base) * (math.cos(math.pi * cur_iter / max_iters) + 1) / 2


def test_demo_trains_and_writes_outputs(demo_run):
    work_dir, log = demo_run
    assert 'Iter(train) [4/4]' in log and 'eta:' in log
    assert (work_dir / 'loss_curve.png').stat().st_size > 1000
    checkpoint = load_checkpoint_file(str(work_dir / 'iter_4.pth'))
    state = checkpoint['state_dict']
    assert any(k.startswith('teacher.backbone.') for k in state)
    assert any(k.startswith('teacher.neck.') for k in state)
    losses = checkpoint['message_hub']['log_scalars']['train/loss']
    assert len(losses['log_history']) == 4
    assert all(math.isfinite(v) for v in losses['log_history'])
    # the momentum logged at iteration i (0-based) follows the schedule
    logged = checkpoint['message_hub']['log_scalars'][
        'train/teacher_momentum']['log_history']
    assert logged == pytest.approx([_momentum(i, 4) for i in range(4)])


def test_resume_is_exact(demo_run, tmp_path):
    """Resuming at iteration 2 ends where the uninterrupted run ended:
    student, teacher, optimizer, and the momentum schedule's position."""
    work_dir, _ = demo_run
    log = _demo(tmp_path, '--resume', str(work_dir / 'iter_2.pth'))
    assert 'resumed epoch: 0, iter: 2' in log
    assert_same_state(tmp_path / 'iter_4.pth', work_dir / 'iter_4.pth',
                      atol=0)
    resumed = load_checkpoint_file(str(tmp_path / 'iter_4.pth'))
    logged = resumed['message_hub']['log_scalars']['train/teacher_momentum']
    assert logged['log_history'][-2:] == pytest.approx(
        [_momentum(2, 4), _momentum(3, 4)])


def test_checkpoint_holds_the_teacher_after_its_update(demo_run):
    """The teacher saved at iteration k is m * (teacher saved at k - 1) +
    (1 - m) * (student saved at k), m of the iteration that just ran."""
    work_dir, _ = demo_run
    for k in (2, 3, 4):
        before = load_checkpoint_file(
            str(work_dir / f'iter_{k - 1}.pth'))['state_dict']
        after = load_checkpoint_file(
            str(work_dir / f'iter_{k}.pth'))['state_dict']
        momentum = _momentum(k - 1, 4)
        for key in ('backbone.layers.0.attn.qkv.weight', 'neck.fc0.weight'):
            expected = momentum * before['teacher.' + key] + \
                (1 - momentum) * after[key]
            assert torch.allclose(after['teacher.' + key], expected,
                                  atol=1e-7), (k, key)
            assert not torch.equal(after['teacher.' + key], after[key])


@pytest.fixture(scope='module')
def compiled_run(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('compiled')
    log = _demo(work_dir, *COMPILED)
    return work_dir, log


def test_compiled_demo_trains_with_the_eager_losses(demo_run, compiled_run):
    """Same losses, student, teacher (updated after every step) and
    optimizer state as the eager run, to fp32 rounding."""
    work_dir, log = compiled_run
    assert 'Model has been "compiled"' in log
    compiled = load_checkpoint_file(str(work_dir / 'iter_4.pth'))
    eager = load_checkpoint_file(str(demo_run[0] / 'iter_4.pth'))
    assert _losses(compiled) == pytest.approx(_losses(eager), rel=1e-5)
    initial = load_checkpoint_file(str(work_dir / 'iter_1.pth'))['state_dict']
    for key, value in eager['state_dict'].items():
        assert torch.allclose(compiled['state_dict'][key], value, rtol=0,
                              atol=1e-5), key
    assert not torch.equal(compiled['state_dict']['teacher.neck.fc0.weight'],
                           initial['teacher.neck.fc0.weight'])
    for key, state in eager['optimizer']['state'].items():
        for name, value in state.items():
            assert torch.allclose(compiled['optimizer']['state'][key][name],
                                  value, rtol=0, atol=1e-5), (key, name)


def test_compiled_resume_is_exact(compiled_run, tmp_path):
    work_dir, _ = compiled_run
    log = _demo(tmp_path, '--resume', str(work_dir / 'iter_2.pth'),
                *COMPILED)
    assert 'resumed epoch: 0, iter: 2' in log
    assert_same_state(tmp_path / 'iter_4.pth', work_dir / 'iter_4.pth',
                      atol=0)


def test_demo_trains_in_bf16_autocast_close_to_fp32(demo_run, tmp_path):
    """The opt-in CPU autocast: SDPA with the bias as mask in bf16, the
    head's loss in fp32. From the same weights the first loss moves off
    fp32's by bf16 rounding (0.4% measured), and the paths stay close while
    the rounding of four steps adds up (2.3% at the fourth)."""
    _demo(tmp_path, '--cfg-options', 'optim_wrapper.cpu_autocast=True',
          'optim_wrapper.dtype=bfloat16')
    bf16 = _losses(load_checkpoint_file(str(tmp_path / 'iter_4.pth')))
    fp32 = _losses(load_checkpoint_file(str(demo_run[0] / 'iter_4.pth')))
    assert bf16[0] == pytest.approx(fp32[0], rel=0.01)
    assert bf16[0] != pytest.approx(fp32[0], rel=1e-4)  # it ran in bf16
    assert bf16 == pytest.approx(fp32, rel=0.05)


def test_published_config_starts_on_cpu(tmp_path):
    """configs/conmim/vit-b_800e.py (full ViT-B) trains on the official
    ImageNet layout (train/ + train_map.txt) on a CPU."""
    root = tmp_path / 'imagenet1k'
    rng = np.random.default_rng(0)
    lines = []
    for i in range(4):
        folder = root / 'train' / f'n{i:08d}'
        folder.mkdir(parents=True)
        image = rng.integers(0, 256, (240, 260, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / 'a.JPEG'), image)
        lines.append(f'n{i:08d}/a.JPEG {i}')
    (root / 'train_map.txt').write_text('\n'.join(lines) + '\n')
    result = run_tool([
        'tools/train.py',
        osp.join(ROOT, 'configs', 'conmim', 'vit-b_800e.py'), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', 'train_cfg.max_epochs=2',
        'param_scheduler.0.end=1', 'param_scheduler.1.begin=1',
        f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.ann_file=train_map.txt',
        'train_dataloader.dataset.data_prefix=train',
        'train_dataloader.dataset.split=', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=2'  # one 1.7 GB file, not two
    ])
    log = _ok(result)
    # CheckedAmpOptimWrapper trains in fp32 without a GPU
    assert 'no GPU, so mixed precision is off: training in fp32' in log
    assert 'Epoch(train) [2][2/2]' in log
    state = load_checkpoint_file(str(tmp_path / 'work' / 'epoch_2.pth'))
    assert state['state_dict']['backbone.cls_token'].shape == (1, 1, 768)
    assert state['state_dict']['neck.fc2.weight'].shape == (256, 4096)
