"""configs/downstream: built from the real files with a tiny ViT, loading the
teacher of a raw ConMIM checkpoint; a missing or wrong checkpoint fails; each
task trains and tests under the OpenMMLab package's own tools/train.py as
under ours. The sizes of a task (ViT-S, -B, -L) differ only in what the tiny
templates replace, so their tiny configs are one config (checked below), and
each task's end-to-end runs take one size per tool."""
import glob
import os.path as osp
import re
import shlex

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import common
from common import (CONFIGS, ROOT, assert_rois_pool_their_boxes,
                    background_run, package_train_script)
from conmim_mm.engine.optimizers import PortableAmpOptimWrapper

DOWNSTREAM = osp.join(ROOT, 'configs', 'downstream')
#: every downstream config a user passes (task/config.py), not the _base_ files
USER_CONFIGS = sorted(
    osp.relpath(path, DOWNSTREAM)
    for path in glob.glob(osp.join(DOWNSTREAM, '*', '*.py'))
    if not path.startswith(osp.join(DOWNSTREAM, '_base_')))
#: ADE20K and COCO need mmseg / mmdet and mmcv's compiled ops
FULL_STACK = ('ade20k/', 'coco/')
#: those that train with mixed precision
AMP = [c for c in USER_CONFIGS if c.startswith('coco/')] + [
    'imagenet/vit-b_linear-90e.py'
]


def _tiny_arch(layers: int) -> dict:
    return dict(_delete_=True, embed_dims=32, num_layers=layers, num_heads=2,
                feedforward_channels=128)


def _assert_backbone_is_the_teacher(backbone, pretrained, new, grid=None):
    """Every backbone tensor equals the teacher's (shared table copied into
    every block, resized to ``grid`` with torch), except the new keys."""
    from conmim_mm.checkpoints import export_backbone
    expected = {
        k[len('backbone.'):]: v
        for k, v in export_backbone(pretrained.state_dict(), grid=grid).items()
    }
    state = backbone.state_dict()
    assert set(state) - set(expected) == set(new)
    for key, value in state.items():
        if key not in new:
            assert torch.allclose(value.float(), expected[key].float(),
                                  atol=1e-6), key


def _imagenet(name: str, checkpoint: str):
    cfg = Config.fromfile(osp.join(DOWNSTREAM, 'imagenet', name))
    cfg.merge_from_dict({
        'model.backbone.arch': _tiny_arch(4),
        'model.backbone.img_size': 64,
        'model.head.in_channels': 32,
        'model.backbone.init_cfg.checkpoint': checkpoint,
    })
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS
    return cfg, MODELS.build(cfg.model)


@pytest.mark.parametrize(
    'name', ['vit-s_ft-100e.py', 'vit-b_ft-100e.py', 'vit-l_ft-100e.py'])
def test_imagenet_fine_tune_loads_the_teacher(name, pretrained_conmim):
    pretrained, checkpoint = pretrained_conmim
    cfg, model = _imagenet(name, checkpoint)
    # the published recipe
    assert cfg.optim_wrapper.optimizer.lr == 4e-3
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.65
    assert cfg.model.backbone.drop_path_rate == 0.1
    assert cfg.model.backbone.out_type == 'avg_featmap'
    assert cfg.data_preprocessor.mean == [123.675, 116.28, 103.53]
    assert [a['type'] for a in cfg.model.train_cfg.augments] == [
        'Mixup', 'CutMix'
    ]
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.param_scheduler[0].end == 20
    assert cfg.train_dataloader.batch_size == 128
    assert cfg.model.head.loss.label_smooth_val == 0.1

    model.init_weights()
    # new: the LayerNorm of the pooled features (the head is outside)
    _assert_backbone_is_the_teacher(model.backbone, pretrained,
                                    new={'ln2.weight', 'ln2.bias'})
    assert not torch.equal(model.backbone.cls_token,
                           pretrained.backbone.cls_token)  # not the student
    images = torch.randn(2, 3, 64, 64)
    assert model(images, mode='tensor').shape == (2, 1000)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    scales = {group['lr'] for group in optim_wrapper.param_groups}
    assert max(scales) == pytest.approx(4e-3)
    assert min(scales) == pytest.approx(4e-3 * 0.65**5)  # 4 blocks + 1


def test_missing_or_wrong_checkpoint_is_an_error(tmp_path):
    _, model = _imagenet('vit-b_ft-100e.py', str(tmp_path / 'missing.pth'))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        model.init_weights()
    wrong = tmp_path / 'classifier.pth'
    torch.save({'state_dict': {'backbone.cls_token': torch.zeros(1, 1, 32)}},
               str(wrong))
    _, model = _imagenet('vit-b_ft-100e.py', str(wrong))
    with pytest.raises(AssertionError,
                       match='teacher.backbone. is not in the pretrained'):
        model.init_weights()


def test_every_config_is_listed():
    assert len(USER_CONFIGS) == 10 and set(AMP) <= set(USER_CONFIGS)


@pytest.mark.parametrize('config', [
    pytest.param(c, marks=pytest.mark.full_stack)
    if c.startswith(FULL_STACK) else c for c in USER_CONFIGS
])
def test_hooks_and_precision(config):
    """Checkpoints hold plain data (they load weights-only) and are written
    atomically under any tools/train.py; the mixed-precision configs use
    PortableAmpOptimWrapper (fp32 with a warning on a CPU) and count fp16
    overflow skips."""
    cfg = Config.fromfile(osp.join(DOWNSTREAM, config))
    assert cfg.default_hooks.checkpoint.backend_args == dict(
        backend='atomic_local')
    hooks = [hook.type for hook in cfg.custom_hooks]
    kind = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if config in AMP:
        assert kind == 'PortableAmpOptimWrapper'
    if 'Amp' in kind:
        assert hooks == ['SkippedStepHook', 'SafeCheckpointHook',
                         'ParamGroupSummaryHook']
    else:
        assert kind == 'OptimWrapper'
        assert hooks == ['SafeCheckpointHook', 'ParamGroupSummaryHook']


@pytest.mark.full_stack
@pytest.mark.parametrize('name, width', [('upernet_vit-s_160k.py', 384),
                                         ('upernet_vit-b_160k.py', 768),
                                         ('upernet_vit-l_160k.py', 1024)])
def test_ade20k_upernet(name, width, pretrained_conmim):
    pretrained, checkpoint = pretrained_conmim
    cfg = Config.fromfile(osp.join(DOWNSTREAM, 'ade20k', name))
    # the published settings
    assert cfg.crop_size == (512, 512)
    assert cfg.train_cfg.max_iters == 160000
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.optim_wrapper.optimizer.lr == 7e-4
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.65
    assert cfg.param_scheduler[0].end == 1500
    assert cfg.param_scheduler[1].type == 'PolyLR'
    assert cfg.model.test_cfg.mode == 'slide'
    assert cfg.model.backbone.drop_path_rate == 0.1
    assert cfg.model.neck.embed_dim == width
    assert cfg.model.decode_head.in_channels == [width] * 4
    # tiny: 4 blocks of 32 at 128x128, from a 64x64 pre-training (4x4 -> 8x8)
    cfg.merge_from_dict({
        'model.backbone.arch': _tiny_arch(4),
        'model.backbone.img_size': (128, 128),
        'model.backbone.out_indices': [0, 1, 2, 3],
        'model.backbone.init_cfg.checkpoint': checkpoint,
        'model.neck.embed_dim': 32,
        'model.neck.norm_cfg': dict(type='BN', requires_grad=True),
        'model.decode_head.in_channels': [32] * 4,
        'model.decode_head.channels': 16,
        'model.decode_head.norm_cfg': dict(type='BN', requires_grad=True),
        'model.auxiliary_head.in_channels': 32,
        'model.auxiliary_head.channels': 16,
        'model.auxiliary_head.norm_cfg': dict(type='BN', requires_grad=True),
        'model.data_preprocessor.size': (128, 128),
        'optim_wrapper.paramwise_cfg.num_layers': 4,
    })
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    model = MODELS.build(cfg.model)
    model.init_weights()
    teacher = pretrained.teacher.backbone
    # nothing new in the backbone; the tables were resized to the 8x8 grid
    _assert_backbone_is_the_teacher(model.backbone, pretrained, new=(),
                                    grid=(8, 8))
    table = model.backbone.layers[0].attn.relative_position_bias_table
    assert table.shape == (15 * 15 + 3, 2)  # resized to the 8x8 grid
    shared = teacher.rel_pos_bias.relative_position_bias_table
    assert torch.equal(table[-3:], shared[-3:])  # [CLS] rows kept
    model.eval()
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 128, 128), mode='tensor')
    assert logits.shape == (1, 150, 32, 32)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert len({g['lr'] for g in optim_wrapper.param_groups}) == 6


def _tiny_config(template: str, config: str, folder) -> str:
    """``tests/data/configs/<template>`` (tiny ViT, light heads) on top of
    ``configs/downstream/<config>`` and ``tiny_vit.py`` instead of the bases
    it names."""
    with open(osp.join(CONFIGS, template)) as f:
        text = f.read()
    bases = [osp.join(DOWNSTREAM, config), osp.join(CONFIGS, 'tiny_vit.py')]
    text = re.sub(r'^_base_ = \[[^\]]*\]', f'_base_ = {bases!r}', text,
                  count=1, flags=re.M)
    out = folder / 'tiny_config.py'
    out.write_text(text)
    return str(out)


# The end-to-end runs: one training iteration (or epoch) with a package's own
# tools/train.py or ours, loading the teacher, then, after our tools/train.py
# and for the linear probing config, our tools/test.py on the checkpoint. A
# task's sizes share one config (test_sizes_share_one_tiny_config), and both
# train.py build the same runner from it: tools/test.py reads one checkpoint
# per config. The runs go in the background (common.background_run).
TESTED = '@@ tools/test.py'


def _train_then_test(tool, config: str, options: list, work_dir,
                     checkpoint: str, test: bool, train_options=()) -> tuple:
    """The command of a run that trains with ``tool`` (see
    :func:`common.package_train_script`) into ``work_dir/work``, then, if
    ``test``, prints TESTED on both streams and runs our tools/test.py on
    ``work/checkpoint``."""
    work = work_dir / 'work'
    script = '"$PYTHON" ' + shlex.join(
        [package_train_script(tool), config, '--work-dir', str(work),
         *options, *train_options])
    if test:
        script += f' && echo {TESTED} && echo {TESTED} >&2 && "$PYTHON" ' + \
            shlex.join(['tools/test.py', config, str(work / checkpoint),
                        '--work-dir', str(work), *options])
    return ['bash', '-c', script], {}


def _check(run, checkpoint: str, progress: str, metrics: list) -> None:
    """The training loaded the teacher, reached the log line ``progress``
    and wrote ``checkpoint``; tools/test.py, if it ran, logged every one of
    ``metrics`` (patterns)."""
    train_out, tested, test_out = run.result.stdout.partition(TESTED)
    train_err, _, test_err = run.result.stderr.partition(TESTED)
    log = train_out + train_err
    assert 'load teacher.backbone. in model from' in log
    assert progress in log
    assert (run.work_dir / 'work' / checkpoint).exists()
    assert bool(tested) == bool(metrics)
    for metric in metrics:
        assert re.search(metric, test_out + test_err), metric


#: the sizes of each task, and the tiny template that replaces their sizes
SIZES = {
    'imagenet': (['imagenet/vit-s_ft-100e.py', 'imagenet/vit-b_ft-100e.py',
                  'imagenet/vit-l_ft-100e.py'], 'ft_imagenet_tiny.py'),
    'ade20k': (['ade20k/upernet_vit-s_160k.py', 'ade20k/upernet_vit-b_160k.py',
                'ade20k/upernet_vit-l_160k.py'], 'ft_ade20k_tiny.py'),
    'coco': (['coco/mask-rcnn_vit-s_fpn.py', 'coco/mask-rcnn_vit-b_fpn.py',
              'coco/mask-rcnn_vit-l_fpn.py'], 'ft_coco_tiny.py'),
}


@pytest.mark.parametrize('task', [
    'imagenet',
    pytest.param('ade20k', marks=pytest.mark.full_stack),
    pytest.param('coco', marks=pytest.mark.full_stack),
])
def test_sizes_share_one_tiny_config(task, tmp_path):
    """Under the tiny template, the ViT-S, -B and -L configs of a task are
    the same config: the end-to-end runs below, one size per tool, run what
    every size would run."""
    configs, template = SIZES[task]
    merged = []
    for config in configs:
        folder = tmp_path / config.replace('/', '_')
        folder.mkdir()
        merged.append(Config.fromfile(
            _tiny_config(template, config, folder)).to_dict())
    # the full-size configs do differ
    full = [Config.fromfile(osp.join(DOWNSTREAM, c)).model.backbone.arch
            for c in configs]
    assert len({str(arch) for arch in full}) == 3
    assert merged[0]['model']['backbone']['arch']['embed_dims'] == 32
    assert merged[0] == merged[1] == merged[2]


def _imagenet_run(work_dir, config: str, template: str, tool, test: bool):
    """An image folder (4 train and 4 val images, 80x90, in the ImageNet
    list layout), the tiny config and the run."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(0)
    for split, count in (('train', 4), ('val', 4)):
        lines = []
        for i in range(count):
            folder = work_dir / split / f'n{i:08d}'
            folder.mkdir(parents=True)
            cv2.imwrite(str(folder / 'a.png'),
                        rng.integers(0, 256, (80, 90, 3), dtype=np.uint8))
            lines.append(f'n{i:08d}/a.png {i}')
        (work_dir / f'{split}.txt').write_text('\n'.join(lines) + '\n')
    config = _tiny_config(template, config, work_dir)
    options = [
        '--cfg-options',
        f'model.backbone.init_cfg.checkpoint={common.pretrained_conmim()[1]}'
    ]
    for loader, split in (('train_dataloader', 'train'),
                          ('val_dataloader', 'val'),
                          ('test_dataloader', 'val')):
        options += [
            f'{loader}.dataset.data_root={work_dir}',
            f'{loader}.dataset.ann_file={split}.txt',
            f'{loader}.dataset.data_prefix={split}',
            f'{loader}.dataset.split=', f'{loader}.batch_size=4',
            f'{loader}.num_workers=0', f'{loader}.persistent_workers=False'
        ]
    options += [
        'train_dataloader.dataset.pipeline.1.scale=64',
        'val_dataloader.dataset.pipeline.1.scale=73',
        'val_dataloader.dataset.pipeline.2.crop_size=64',
        'test_dataloader.dataset.pipeline.1.scale=73',
        'test_dataloader.dataset.pipeline.2.crop_size=64',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=10',
        'default_hooks.logger.interval=1'
    ]
    return _train_then_test(tool, config, options, work_dir, 'epoch_1.pth',
                            test)


@background_run()
def imagenet_ft_run(work_dir):
    return _imagenet_run(work_dir, 'imagenet/vit-b_ft-100e.py',
                         'ft_imagenet_tiny.py', None, test=True)


@background_run()
def imagenet_ft_mmpretrain_run(work_dir):
    return _imagenet_run(work_dir, 'imagenet/vit-l_ft-100e.py',
                         'ft_imagenet_tiny.py', 'mmpretrain', test=False)


@background_run()
def imagenet_linear_mmpretrain_run(work_dir):
    return _imagenet_run(work_dir, 'imagenet/vit-b_linear-90e.py',
                         'linear_imagenet_tiny.py', 'mmpretrain', test=True)


@pytest.mark.parametrize('run, frozen, tested', [
    ('imagenet_ft_run', False, True),
    ('imagenet_ft_mmpretrain_run', False, False),
    ('imagenet_linear_mmpretrain_run', True, True),
])
def test_imagenet_config_trains_and_tests_with_the_tools(
        run, frozen, tested, pretrained_conmim, request):
    """ViT-B fine-tuning under our tools, ViT-L under mmpretrain's
    tools/train.py, linear probing under mmpretrain's: one training epoch
    of one iteration, then (see _train_then_test) tools/test.py, on an
    image folder."""
    pretrained, _ = pretrained_conmim
    run = request.getfixturevalue(run)
    _check(run, 'epoch_1.pth', 'Epoch(train) [1][1/1]',
           [r'accuracy/top1: [\d.]+'] if tested else [])
    # linear probing leaves the teacher's weights as they were
    trained = torch.load(str(run.work_dir / 'work' / 'epoch_1.pth'),
                         weights_only=True)['state_dict']
    key = 'layers.3.attn.qkv.weight'
    teacher = pretrained.teacher.backbone.state_dict()[key]
    assert torch.equal(trained['backbone.' + key], teacher) == frozen


def _ade20k(work_dir, config: str, tool, test: bool):
    """The tiny config and the run, on common.dense_data()."""
    data = common.dense_data()
    config = _tiny_config('ft_ade20k_tiny.py', config, work_dir)
    options = [
        '--cfg-options',
        f'model.backbone.init_cfg.checkpoint={common.pretrained_conmim()[1]}',
        'train_cfg.max_iters=1', 'default_hooks.logger.interval=1'
    ]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{loader}.dataset.data_root={data}',
                    f'{loader}.num_workers=0',
                    f'{loader}.persistent_workers=False']
    return _train_then_test(tool, config, options, work_dir, 'iter_1.pth',
                            test, ['default_hooks.checkpoint.interval=1'])


@background_run()
def ade20k_mmseg_run(work_dir):
    return _ade20k(work_dir, 'ade20k/upernet_vit-s_160k.py', 'mmseg',
                   test=False)


@background_run()
def ade20k_run(work_dir):
    return _ade20k(work_dir, 'ade20k/upernet_vit-b_160k.py', None, test=True)


@pytest.mark.full_stack
@pytest.mark.parametrize('run, tested', [('ade20k_mmseg_run', False),
                                         ('ade20k_run', True)])
def test_ade20k_config_trains_and_tests_with_the_tools(run, tested, request):
    """ViT-S under mmseg's tools/train.py, ViT-B under ours: one training
    iteration, then (see _train_then_test) tools/test.py, on ADE-format
    data."""
    _check(request.getfixturevalue(run), 'iter_1.pth', 'Iter(train) [1/1]',
           [r'mIoU: [\d.]+'] if tested else [])


def _coco(work_dir, config: str, tool, test: bool):
    """The tiny config and the run, on common.dense_data()."""
    data = common.dense_data()
    config = _tiny_config('ft_coco_tiny.py', config, work_dir)
    options = [
        '--cfg-options',
        f'model.backbone.init_cfg.checkpoint={common.pretrained_conmim()[1]}',
        f'train_dataloader.dataset.dataset.data_root={data}',
        f'val_dataloader.dataset.data_root={data}',
        f'test_dataloader.dataset.data_root={data}',
        f'val_evaluator.ann_file={data}/ann.json',
        f'test_evaluator.ann_file={data}/ann.json',
        'train_cfg.val_interval=10', 'default_hooks.logger.interval=1'
    ]
    return _train_then_test(tool, config, options, work_dir, 'epoch_1.pth',
                            test)


@background_run()
def coco_mmdet_run(work_dir):
    return _coco(work_dir, 'coco/mask-rcnn_vit-s_fpn.py', 'mmdet', test=False)


@background_run()
def coco_run(work_dir):
    return _coco(work_dir, 'coco/mask-rcnn_vit-b_fpn.py', None, test=True)


@pytest.mark.full_stack
@pytest.mark.parametrize('run, tested', [('coco_mmdet_run', False),
                                         ('coco_run', True)])
def test_coco_mask_rcnn_config_trains_and_tests_with_the_tools(
        run, tested, request):
    """ViT-S under mmdet's tools/train.py, ViT-B under ours: one training
    epoch, then (see _train_then_test) tools/test.py (bbox and segm), on a
    COCO JSON with boxes and polygon masks."""
    _check(request.getfixturevalue(run), 'epoch_1.pth',
           'Epoch(train) [1][2/2]',
           [r'coco/bbox_mAP: [\d.-]+', r'coco/segm_mAP: [\d.-]+']
           if tested else [])


@pytest.mark.full_stack
@pytest.mark.parametrize('name, width, layers',
                         [('mask-rcnn_vit-s_fpn.py', 384, 12),
                          ('mask-rcnn_vit-b_fpn.py', 768, 12),
                          ('mask-rcnn_vit-l_fpn.py', 1024, 24)])
def test_coco_settings(name, width, layers):
    cfg = Config.fromfile(osp.join(DOWNSTREAM, 'coco', name))
    backbone = cfg.model.backbone
    assert backbone.type == 'mmpretrain.ConMIMBEiTViT'
    assert backbone.img_size == 1024 and backbone.drop_path_rate == 0.1
    assert backbone.init_cfg.prefix == 'teacher.backbone.'
    assert [n.type for n in cfg.model.neck] == [
        'mmseg.Feature2Pyramid', 'FPN'
    ]
    assert cfg.model.neck[0].embed_dim == width
    assert cfg.model.neck[1].in_channels == [width] * 4
    assert cfg.model.rpn_head.num_convs == 2
    assert cfg.model.roi_head.bbox_head.type == 'Shared4Conv1FCBBoxHead'
    # every image is padded to the backbone's fixed 1024x1024 grid
    pads = [t for t in cfg.train_dataloader.dataset.dataset.pipeline
            if t.type == 'Pad'] + [
                t for t in cfg.test_dataloader.dataset.pipeline
                if t.type == 'Pad']
    assert [p.size for p in pads] == [(1024, 1024)] * 2
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.weight_decay) == (
        'AdamW', 3.2e-4, 0.1)
    assert cfg.optim_wrapper.paramwise_cfg.num_layers == layers
    assert cfg.train_dataloader.batch_size * 8 == 64
    assert cfg.train_dataloader.dataset.times * cfg.train_cfg.max_epochs == 36
    assert cfg.param_scheduler[1].milestones == [9, 11]  # epochs 27, 33


def _tiny_model(template: str, config: str, checkpoint: str, folder,
                scope: str):
    """The config and model of a downstream config under its tiny
    template."""
    cfg = Config.fromfile(_tiny_config(template, config, folder))
    cfg.model.backbone.init_cfg.checkpoint = checkpoint
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    model = registry.build(cfg.model)
    model.init_weights()
    return cfg, model


@pytest.mark.full_stack
@pytest.mark.parametrize('config', [
    'coco/mask-rcnn_vit-s_fpn.py', 'coco/mask-rcnn_vit-b_fpn.py',
    'coco/mask-rcnn_vit-l_fpn.py'
])
def test_coco_backbone_is_the_teacher(config, pretrained_conmim, tmp_path):
    pretrained, checkpoint = pretrained_conmim
    cfg, model = _tiny_model('ft_coco_tiny.py', config, checkpoint,
                             tmp_path, 'mmdet')
    # neck and heads are new; in the backbone nothing is
    _assert_backbone_is_the_teacher(model.backbone, pretrained, new=())
    # our mixed-precision wrapper builds from the mmdet scope, with mmseg's
    # layer-wise lr decay: 4 blocks + 1 for the embeddings, 1 for the rest
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(optim_wrapper, PortableAmpOptimWrapper)
    scales = {group['lr'] for group in optim_wrapper.param_groups}
    assert max(scales) == pytest.approx(3.2e-4)
    assert min(scales) == pytest.approx(3.2e-4 * 0.7**5)


@pytest.mark.full_stack
def test_coco_rois_pool_their_boxes(pretrained_conmim, tmp_path):
    """The box and mask heads see each box's own pixels: mmcv's RoIAlign
    reads its maps as contiguous NCHW (open-mmlab/mmcv#2203), and the
    backbone's maps reach it so."""
    _, checkpoint = pretrained_conmim
    _, model = _tiny_model('ft_coco_tiny.py', 'coco/mask-rcnn_vit-b_fpn.py',
                           checkpoint, tmp_path, 'mmdet')
    assert_rois_pool_their_boxes(model)


def test_linear_probe_backbone_is_the_frozen_teacher(pretrained_conmim,
                                                     tmp_path):
    pretrained, checkpoint = pretrained_conmim
    cfg, model = _tiny_model('linear_imagenet_tiny.py',
                             'imagenet/vit-b_linear-90e.py', checkpoint,
                             tmp_path, 'mmpretrain')
    # the pre-training's final norm is kept for the [CLS] feature
    _assert_backbone_is_the_teacher(
        model.backbone, pretrained, new={'ln1.weight', 'ln1.bias'})
    teacher = pretrained.teacher.backbone
    assert torch.equal(model.backbone.ln1.weight, teacher.ln1.weight)
    assert not any(p.requires_grad for p in model.backbone.parameters())
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(optim_wrapper, PortableAmpOptimWrapper)
    assert type(optim_wrapper.optimizer).__name__ == 'LARS'
