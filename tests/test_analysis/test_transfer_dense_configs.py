"""The dense tasks' configs: the ADE20K UperNet and COCO Mask R-CNN configs
by inheritance, scaled to the benchmark's tiny ViT at 64 px, one layer
decay mechanism for every backbone family, no SyncBN; each run's config;
each family's model loads its pre-training checkpoint, resized from the 4x4
to the 8x8 grid (mmseg and mmdet: full_stack)."""
import logging
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from common import assert_rois_pool_their_boxes
from conftest import ROOT
from conmim_mm.analysis.finetune_checks import (checkpoint_backbone,
                                                load_report, lr_scale_line,
                                                position_lines, sync_bn_line)
from conmim_mm.analysis.transfer import (DenseCell, Method, Recipe,
                                         SceneFolder, builtin_methods,
                                         dense_config)
from conmim_mm.analysis.transfer.configs import set_iterations
from conmim_mm.analysis.transfer.dense_configs import (dense_budget,
                                                       layer_decay_keys)

CONFIGS = osp.join(ROOT, 'configs', 'transfer')
#: config -> (downstream base, family's backbone type, checkpoint prefix)
DENSE = {
    'segment_beit.py': ('ade20k', 'mmpretrain.ConMIMBEiTViT',
                        'teacher.backbone.'),
    'segment_beit_abs.py': ('ade20k', 'mmpretrain.ConMIMBEiTViT',
                            'teacher.backbone.'),
    'segment_vit.py': ('ade20k', 'mmpretrain.VisionTransformer',
                       'backbone.'),
    'detect_beit.py': ('coco', 'mmpretrain.ConMIMBEiTViT',
                       'teacher.backbone.'),
    'detect_beit_abs.py': ('coco', 'mmpretrain.ConMIMBEiTViT',
                           'teacher.backbone.'),
    'detect_vit.py': ('coco', 'mmpretrain.VisionTransformer', 'backbone.'),
}
#: the layer decay of each downstream base
DECAY = {'ade20k': 0.65, 'coco': 0.7}


def test_set_iterations_rescales_milestones():
    cfg = Config(dict(
        train_cfg=dict(max_iters=400),
        param_scheduler=[dict(begin=0, end=40),
                         dict(begin=0, end=400, milestones=[300, 366])]))
    set_iterations(cfg, 40)
    assert cfg.param_scheduler[1].milestones == [30, 37]


def test_layer_decay_keys_are_beits_rule():
    keys = layer_decay_keys(2, 0.5)
    assert {k: v['lr_mult'] for k, v in keys.items()} == {
        'backbone.patch_embed.': 0.125, 'backbone.cls_token': 0.125,
        'backbone.pos_embed': 0.125, 'backbone.layers.0.': 0.25,
        'backbone.layers.1.': 0.5
    }


def test_the_budget_of_the_dense_tasks():
    budget = dense_budget(CONFIGS)
    assert budget.img_size == 64 and budget.scene_seed == 0
    assert (budget.val_scenes, budget.test_scenes) == (200, 500)
    assert (budget.segment_max_iters, budget.segment_warmup_iters) == (400,
                                                                       40)
    assert (budget.detect_max_iters, budget.detect_warmup_iters) == (200, 20)


@pytest.mark.full_stack
@pytest.mark.parametrize('name', list(DENSE))
def test_dense_configs_are_the_downstream_ones_scaled(name):
    task, backbone_type, prefix = DENSE[name]
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    family_base = name.split('_')[0] + '_beit.py'
    with open(osp.join(CONFIGS, family_base)) as file:
        text = file.read()
    assert (f"_base_ = ['../downstream/{task}/" in text
            and "'./_base_/budget.py']" in text)
    model = cfg.model
    assert model.backbone.type == backbone_type
    assert model.backbone.init_cfg.prefix == prefix
    assert (model.backbone.img_size in (64, (64, 64))
            and model.backbone.patch_size == 8)
    assert model.backbone.out_indices == [0, 1, 2, 3]
    assert model.backbone.drop_path_rate == 0.1
    assert 'SyncBN' not in str(cfg.to_dict())
    rate = DECAY[task]
    assert cfg.optim_wrapper.constructor == 'DefaultOptimWrapperConstructor'
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys == layer_decay_keys(
        4, rate)
    assert dict(type='FinetuneChecksHook',
                layer_decay_rate=rate) in cfg.custom_hooks
    if task == 'ade20k':
        assert (model.neck.type, model.neck.embed_dim,
                model.neck.rescales) == ('Feature2Pyramid', 96,
                                         [4, 2, 1, 0.5])
        assert model.decode_head.type == 'UPerHead'
        assert model.decode_head.num_classes == 11
        assert model.auxiliary_head.type == 'FCNHead'
        assert (cfg.val_evaluator.type,
                cfg.val_evaluator.iou_metrics) == ('IoUMetric', ['mIoU'])
        assert cfg.train_dataloader.dataset.metainfo.classes[-1] == \
            'background'
        assert cfg.train_dataloader.dataset.reduce_zero_label is False
        # chosen on val: lr 4e-3 (the base's 7e-4 learned too little in
        # 400 iterations) and the background weighted 0.1 in both heads,
        # with crops padded by background (mmseg's weighted loss cannot
        # take the ignore label 255)
        assert cfg.optim_wrapper.optimizer.lr == 4e-3
        for head in (model.decode_head, model.auxiliary_head):
            assert head.loss_decode.class_weight == [1.0] * 10 + [0.1]
        assert model.data_preprocessor.seg_pad_val == 10
    else:
        assert [n.type for n in model.neck] == ['mmseg.Feature2Pyramid',
                                                'FPN']
        assert model.roi_head.bbox_head.type == 'Shared4Conv1FCBBoxHead'
        assert model.roi_head.mask_head.num_classes == 10
        assert model.rpn_head.num_convs == 2
        for loader in ('train_dataloader', 'test_dataloader'):
            (load, ) = [step for step in cfg[loader].dataset.pipeline
                        if step.type == 'LoadAnnotations']
            assert load.poly2mask is True  # RLE masks
        assert cfg.test_evaluator.metric == ['bbox', 'segm']
        # 2-4 digits per scene: 32 sampled RoIs, 20 detections per image
        assert cfg.model.train_cfg.rcnn.sampler.num == 32
        assert cfg.model.test_cfg.rcnn.max_per_img == 20
        # chosen on val: lr 1e-3 (the base's 3.2e-4 learned too little in
        # 200 iterations)
        assert cfg.train_cfg.max_iters == 200
        assert cfg.optim_wrapper.optimizer.lr == 1e-3


@pytest.fixture
def scenes() -> SceneFolder:
    return SceneFolder('/s', dict(train=1000, val=200, test=500))


@pytest.mark.full_stack
def test_the_config_of_a_run(scenes, tmp_path):
    methods = builtin_methods(CONFIGS)
    cfg = dense_config(methods['conmim'], DenseCell('conmim', 'detect', 100,
                                                    2), scenes,
                       str(tmp_path), '/w/iter_1200.pth', Recipe(None, 40),
                       CONFIGS)
    assert cfg.model.backbone.init_cfg.checkpoint == '/w/iter_1200.pth'
    assert cfg.randomness == dict(seed=2, diff_rank_seed=False)
    assert cfg.train_dataloader.dataset.indices == 100
    assert {cfg[f'{part}_dataloader'].dataset.data_root
            for part in ('train', 'val', 'test')} == {'/s'}
    assert cfg.val_evaluator.ann_file == '/s/annotations/instances_val.json'
    assert cfg.test_evaluator.ann_file == \
        '/s/annotations/instances_test.json'
    assert cfg.train_cfg.max_iters == 40 and cfg.train_cfg.val_interval == 41
    assert cfg.param_scheduler[1].milestones == [30, 37]
    assert cfg.default_hooks.checkpoint is None
    assert cfg.log_level == 'WARNING'
    scratch = dense_config(methods['scratch_vit'],
                           DenseCell('scratch_vit', 'segment', 1000, 0),
                           scenes, str(tmp_path), None, Recipe(), CONFIGS)
    assert scratch.model.backbone.init_cfg is None
    assert scratch.model.backbone.type == 'mmpretrain.VisionTransformer'
    assert scratch.train_cfg.max_iters == dense_budget(
        CONFIGS).segment_max_iters
    # --finetune-options reach the dense configs too
    for task in ('segment', 'detect'):
        tuned = dense_config(
            methods['conmim'], DenseCell('conmim', task, 100, 0), scenes,
            str(tmp_path), None,
            Recipe(finetune_options={'optim_wrapper.optimizer.lr': 7e-3}),
            CONFIGS)
        assert tuned.optim_wrapper.optimizer.lr == 7e-3


@pytest.mark.full_stack
def test_an_own_pretraining_sets_its_size(scenes, tmp_path):
    own = tmp_path / 'mine.py'
    own.write_text(
        f"_base_ = ['{osp.join(CONFIGS, 'conmim.py')}']\n"
        'model = dict(backbone=dict(arch=dict(embed_dims=64, num_layers=8, '
        'num_heads=2, feedforward_channels=128), patch_size=16))\n')
    method = Method('mine', osp.join(CONFIGS, 'finetune_beit.py'), str(own))
    for task in ('segment', 'detect'):
        cfg = dense_config(method, DenseCell('mine', task, 10, 0), scenes,
                           str(tmp_path), '/w/m.pth', Recipe(), CONFIGS)
        backbone = cfg.model.backbone
        assert (backbone.arch.embed_dims, backbone.patch_size) == (64, 16)
        assert backbone.out_indices == [1, 3, 5, 7]
        neck = cfg.model.neck if task == 'segment' else cfg.model.neck[0]
        assert neck.embed_dim == 64
        rate = 0.65 if task == 'segment' else 0.7
        assert cfg.optim_wrapper.paramwise_cfg.custom_keys == \
            layer_decay_keys(8, rate)


def _checkpoint(name: str, folder) -> str:
    """A pre-training checkpoint of configs/transfer/<name>.py at random
    init (the shared relative position table not zero)."""
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(
        osp.join(CONFIGS, f'{name}.py')).model)
    if name == 'conmim':
        with torch.no_grad():
            model.teacher.backbone.rel_pos_bias.\
                relative_position_bias_table.normal_()
    path = str(folder / f'{name}.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


@pytest.mark.full_stack
def test_each_family_loads_its_checkpoint_resized(tmp_path):
    """The tiny ViT pre-trained at 32 px (4x4 grid), fine-tuned at 64 px
    (8x8): every tensor loaded, the relative position tables (BEiT) and the
    absolute position embedding (ViT) resized; BEiT's lr scales; no
    SyncBN."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    checkpoints = {name: _checkpoint(name, tmp_path)
                   for name in ('conmim', 'conmim_abs', 'mae')}
    expected = {
        'segment_beit.py': ('conmim', 67, 'relative position tables: 4 '
                            'resized from the 4x4 grid (52 rows) to the 8x8 '
                            'grid (228 rows)'),
        'segment_beit_abs.py': ('conmim_abs', 64, 'position embedding: 17 '
                                'tokens (4x4 grid) to 65 tokens (8x8 grid)'),
        'segment_vit.py': ('mae', 52, 'position embedding: 17 tokens (4x4 '
                           'grid) to 65 tokens (8x8 grid)'),
        'detect_beit.py': ('conmim', 67, 'relative position tables: 4 '
                           'resized from the 4x4 grid (52 rows) to the 8x8 '
                           'grid (228 rows)'),
    }
    try:
        for name, (method, tensors, position) in expected.items():
            cfg = Config.fromfile(osp.join(CONFIGS, name))
            cfg.model.backbone.init_cfg.checkpoint = checkpoints[method]
            scope = 'mmseg' if name.startswith('segment') else 'mmdet'
            init_default_scope(scope)
            model = __import__(f'{scope}.registry',
                               fromlist=['MODELS']).MODELS.build(cfg.model)
            prefix = cfg.model.backbone.init_cfg.prefix
            report = load_report(model.backbone, checkpoints[method], prefix)
            assert (len(report.loaded), report.missing) == (tensors, []), name
            model.init_weights()
            assert position_lines(model.backbone, checkpoint_backbone(
                checkpoints[method], prefix)) == [position], name
            optimizer = build_optim_wrapper(model,
                                            cfg.optim_wrapper).optimizer
            rate = cfg.custom_hooks[-1].layer_decay_rate
            assert lr_scale_line(optimizer, model, 4, rate).endswith(
                f'layers.3 {rate:g}, the rest 1')
            assert sync_bn_line(model, 1).endswith('no SyncBN (1 process)')
    finally:
        logger.setLevel(level)


@pytest.mark.full_stack
@pytest.mark.parametrize('name',
                         ['detect_beit.py', 'detect_beit_abs.py',
                          'detect_vit.py'])
def test_detection_rois_pool_their_boxes(name):
    """Every family's box and mask heads see each box's own pixels (the
    plain ViT's maps are channels-last strided: torchvision's RoIAlign)."""
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    cfg.model.backbone.init_cfg = None
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    assert_rois_pool_their_boxes(MODELS.build(cfg.model))
