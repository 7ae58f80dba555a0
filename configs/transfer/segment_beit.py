# Transfer benchmark, dense task `segment`: the ADE20K UperNet config
# (../downstream/ade20k/upernet_vit-b_160k.py: ConMIMBEiTViT from the momentum
# teacher, Feature2Pyramid, UPerHead + FCN auxiliary head, AdamW, layer-wise
# lr decay 0.65, linear warm-up then poly decay, slide inference, IoUMetric)
# on the benchmark's digit scenes (conmim_mm.analysis.transfer.scenes: 11
# classes, digits 0-9 and background 10). The backbone family of `conmim` and
# `scratch_beit`; ./segment_beit_abs.py and ./segment_vit.py change only the
# backbone. tools/analysis_tools/transfer_benchmark.py sets the data root,
# the checkpoint (none for a random-init row), the seed and the iterations.
#
# Scaled to the budget (_base_/budget.py `transfer` and `dense`): the tiny
# ViT (4 blocks of 96, patch 8) at 64 px, an 8 x 8 grid (pre-training: 4 x 4,
# so the relative position tables are resized at load); all 4 blocks feed the
# pyramid (strides 2, 4, 8, 16 px); neck and heads 96 wide, head channels 64;
# 64 x 64 crops of scenes resized by 0.5-2 as published, no flip (digits are
# not mirror-symmetric); the budget's batch and iterations.
#
# What one CPU process needs: BN instead of SyncBN; no data-loader workers.
#
# Chosen on val, alike for every row (docs/en/user_guides/dense_benchmark.md):
# - the background's pixels weigh 0.1 in both heads' cross-entropy (about
#   90 % of a scene is background; unweighted, every row predicted background
#   only). mmseg's weighted cross-entropy indexes the weights by label, so
#   the padding of crops from scenes scaled below 1 is labelled background
#   (the canvas' own), not 255;
# - lr 4e-3 instead of the base's 7e-4 (heads trained from scratch in 400
#   iterations; layer decay as published).
#
# Layer decay: mmseg's LayerDecayOptimizerConstructor recognises a backbone
# by 'BEiT' or 'MAE' in its class name and refuses mmpretrain's
# VisionTransformer, the family of the MAE, MaskFeat and MoCo v3 rows
# (./segment_vit.py). Every row therefore gets the same mechanism: mmengine's
# DefaultOptimWrapperConstructor with one lr_mult per layer group, computed
# below with BEiT's rule (as mmseg's): decay ** (num_layers + 1 - layer id),
# patch_embed, cls_token and pos_embed at id 0, block i at i + 1, neck and
# heads at 1; decay 0.65 from the base. Weight decay: none on the 1-d
# parameters and biases of neck and heads (mmseg's rule); the backbone's
# are decayed (a custom key decides both, and mmengine has no per-shape
# key). conmim_mm's FinetuneChecksHook prints the scales and stops a run
# whose scales differ from that rule.
_base_ = ['../downstream/ade20k/upernet_vit-b_160k.py', './_base_/budget.py']

img_size = _base_.dense.img_size
crop_size = (img_size, img_size)
width = _base_.transfer.arch.embed_dims
num_layers = _base_.transfer.arch.num_layers
layer_decay = _base_.optim_wrapper.paramwise_cfg.layer_decay_rate
norm_cfg = dict(type='BN', requires_grad=True)
classes = tuple(str(digit) for digit in range(10)) + ('background', )

background = len(classes) - 1
class_weight = [1.0] * background + [0.1]
data_preprocessor = dict(size=crop_size, seg_pad_val=background)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        arch=dict(_delete_=True, **_base_.transfer.arch),
        img_size=crop_size,
        patch_size=_base_.transfer.patch_size,
        out_indices=list(range(num_layers))),
    neck=dict(embed_dim=width, norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=[width] * 4,
        channels=64,
        num_classes=len(classes),
        norm_cfg=norm_cfg,
        loss_decode=dict(class_weight=class_weight)),
    auxiliary_head=dict(
        in_channels=width,
        channels=32,
        num_classes=len(classes),
        norm_cfg=norm_cfg,
        loss_decode=dict(class_weight=class_weight)),
    test_cfg=dict(crop_size=crop_size, stride=(43, 43)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(4 * img_size, img_size),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(4 * img_size, img_size), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
__scenes = dict(
    _delete_=True,
    type='BaseSegDataset',
    data_root='data/transfer/scenes',
    metainfo=dict(
        classes=classes,
        # matplotlib's tab10 for the digits, black for the background
        palette=[[31, 119, 180], [255, 127, 14], [44, 160, 44],
                 [214, 39, 40], [148, 103, 189], [140, 86, 75],
                 [227, 119, 194], [127, 127, 127], [188, 189, 34],
                 [23, 190, 207], [0, 0, 0]]),
    img_suffix='.png',
    seg_map_suffix='.png',
    reduce_zero_label=False)
__loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(
    __loader,
    batch_size=_base_.dense.batch_size,
    dataset=dict(
        __scenes,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    __loader,
    batch_size=8,
    dataset=dict(
        __scenes,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        __scenes,
        data_prefix=dict(
            img_path='img_dir/test', seg_map_path='ann_dir/test'),
        pipeline=test_pipeline))

max_iters = _base_.dense.segment_max_iters
warmup_iters = _base_.dense.segment_warmup_iters
__lr_mult = {
    f'backbone.{name}': dict(lr_mult=layer_decay**(num_layers + 1))
    for name in ('patch_embed.', 'cls_token', 'pos_embed')
}
__lr_mult.update({
    f'backbone.layers.{i}.': dict(lr_mult=layer_decay**(num_layers - i))
    for i in range(num_layers)
})
optim_wrapper = dict(
    optimizer=dict(lr=4e-3),
    constructor='DefaultOptimWrapperConstructor',
    paramwise_cfg=dict(
        _delete_=True,
        custom_keys=__lr_mult,
        norm_decay_mult=0.,
        bias_decay_mult=0.,
        flat_decay_mult=0.))
param_scheduler = [
    dict(_base_.param_scheduler[0], end=warmup_iters),
    dict(_base_.param_scheduler[1], begin=warmup_iters, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters))
custom_hooks = _base_.custom_hooks + [
    dict(type='FinetuneChecksHook', layer_decay_rate=layer_decay)
]
randomness = dict(seed=0, diff_rank_seed=False)
