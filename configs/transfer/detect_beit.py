# Transfer benchmark, dense task `detect`: the COCO Mask R-CNN config
# (../downstream/coco/mask-rcnn_vit-b_fpn.py: ConMIMBEiTViT from the momentum
# teacher, Feature2Pyramid + FPN, 2-conv RPN, 4conv1fc box head, FCN mask
# head, AdamW, layer-wise lr decay 0.7, linear warm-up then steps at 9/12
# and 11/12 of training, CocoMetric bbox and segm) on the benchmark's digit
# scenes (conmim_mm.analysis.transfer.scenes: one instance per digit, classes
# '0'-'9', masks as uncompressed RLE). The backbone family of `conmim` and
# `scratch_beit`; ./detect_beit_abs.py and ./detect_vit.py change only the
# backbone. tools/analysis_tools/transfer_benchmark.py sets the data root and
# annotation files, the checkpoint (none for a random-init row), the seed and
# the iterations.
#
# Scaled to the budget (_base_/budget.py `transfer` and `dense`): the tiny
# ViT (4 blocks of 96, patch 8) on 64 x 64 canvases, an 8 x 8 grid
# (pre-training: 4 x 4, so the relative position tables are resized at
# load); all 4 blocks feed the pyramid, whose strides are 2, 4, 8, 16 (and 32
# after the FPN) px as 4, 8, 16, 32 (64) are at patch 16: anchors and RoI
# strides follow; FPN and heads 64 wide (box head fc 256); fewer proposals
# and sampled RoIs (below); the published multi-scale training in kind (the canvas resized to 75-100 % of its side,
# padded to 64), no flip (digits are not mirror-symmetric); iterations
# instead of epochs (InfiniteSampler); the budget's batch and iterations.
#
# What one CPU process needs: BN instead of SyncBN; fp32 OptimWrapper (the
# base's mixed-precision wrapper trains in fp32 on a CPU anyway, with a
# warning; no SkippedStepHook then); no data-loader workers. The RLE masks
# need LoadAnnotations(poly2mask=True): with the base's poly2mask=False mmdet
# ignores RLE instances.
#
# Layer decay: mmseg's LearningRateDecayOptimizerConstructor refuses
# mmpretrain's VisionTransformer (./detect_vit.py), so every row gets
# mmengine's DefaultOptimWrapperConstructor with BEiT's per-layer lr_mult,
# as ./segment_beit.py explains; decay 0.7 from the base.
_base_ = ['../downstream/coco/mask-rcnn_vit-b_fpn.py', './_base_/budget.py']

img_size = _base_.dense.img_size
width = _base_.transfer.arch.embed_dims
num_layers = _base_.transfer.arch.num_layers
layer_decay = _base_.optim_wrapper.paramwise_cfg.decay_rate
norm_cfg = dict(type='BN', requires_grad=True)
classes = tuple(str(digit) for digit in range(10))
channels = 64
strides = [2, 4, 8, 16, 32]

model = dict(
    backbone=dict(
        arch=dict(_delete_=True, **_base_.transfer.arch),
        img_size=img_size,
        patch_size=_base_.transfer.patch_size,
        out_indices=list(range(num_layers))),
    neck=[
        dict(_base_.model.neck[0], embed_dim=width, norm_cfg=norm_cfg),
        dict(
            _base_.model.neck[1],
            in_channels=[width] * 4,
            out_channels=channels,
            norm_cfg=norm_cfg),
    ],
    rpn_head=dict(
        in_channels=channels,
        feat_channels=channels,
        anchor_generator=dict(strides=strides)),
    # torchvision's RoIAlign (same sampling as mmcv's, aligned=True): mmcv's
    # kernels read their input as contiguous NCHW without checking
    # (open-mmlab/mmcv#2203), and the plain ViT of ./detect_vit.py
    # (mmpretrain's) hands the pyramid channels-last strided maps
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(use_torchvision=True),
            out_channels=channels,
            featmap_strides=strides[:4]),
        bbox_head=dict(
            in_channels=channels,
            conv_out_channels=channels,
            fc_out_channels=256,
            num_classes=len(classes),
            norm_cfg=norm_cfg),
        mask_roi_extractor=dict(
            roi_layer=dict(use_torchvision=True),
            out_channels=channels,
            featmap_strides=strides[:4]),
        mask_head=dict(
            in_channels=channels,
            conv_out_channels=channels,
            num_classes=len(classes),
            norm_cfg=norm_cfg)),
    # 2-4 digits per scene: 100 proposals (of 1000), 32 sampled RoIs per
    # image (of 512, a quarter positive as published) and at most 20
    # detections per image (of 100)
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=200, max_per_img=100),
        rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(
        rpn=dict(nms_pre=200, max_per_img=100), rcnn=dict(max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='LoadAnnotations', with_bbox=True, with_mask=True,
        poly2mask=True),
    dict(
        type='RandomResize',
        scale=[(img_size, img_size * 3 // 4), (img_size, img_size)],
        keep_ratio=True),
    dict(type='Pad', size=(img_size, img_size)),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=True),
    dict(type='Pad', size=(img_size, img_size)),
    dict(
        type='LoadAnnotations', with_bbox=True, with_mask=True,
        poly2mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
__scenes = dict(
    _delete_=True,
    type='CocoDataset',
    data_root='data/transfer/scenes',
    metainfo=dict(classes=classes),
    backend_args=None)
__loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(
    __loader,
    batch_size=_base_.dense.batch_size,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(
        __scenes,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='img_dir/train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=train_pipeline))
val_dataloader = dict(
    __loader,
    batch_size=8,
    dataset=dict(
        __scenes,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='img_dir/val/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        __scenes,
        ann_file='annotations/instances_test.json',
        data_prefix=dict(img='img_dir/test/'),
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(
    ann_file='data/transfer/scenes/annotations/instances_val.json')
test_evaluator = dict(
    ann_file='data/transfer/scenes/annotations/instances_test.json')

max_iters = _base_.dense.detect_max_iters
warmup_iters = _base_.dense.detect_warmup_iters
__lr_mult = {
    f'backbone.{name}': dict(lr_mult=layer_decay**(num_layers + 1))
    for name in ('patch_embed.', 'cls_token', 'pos_embed')
}
__lr_mult.update({
    f'backbone.layers.{i}.': dict(lr_mult=layer_decay**(num_layers - i))
    for i in range(num_layers)
})
# lr 1e-3, chosen on val (the base's 3.2e-4 learned too little in 200
# iterations: docs/en/user_guides/dense_benchmark.md)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(lr=1e-3),
    constructor='DefaultOptimWrapperConstructor',
    paramwise_cfg=dict(
        _delete_=True,
        custom_keys=__lr_mult,
        norm_decay_mult=0.,
        bias_decay_mult=0.,
        flat_decay_mult=0.))
param_scheduler = [
    dict(_base_.param_scheduler[0], end=warmup_iters),
    dict(
        _base_.param_scheduler[1],
        end=max_iters,
        by_epoch=False,
        milestones=[max_iters * 9 // 12, max_iters * 11 // 12]),
]
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=max_iters))
custom_hooks = [
    dict(type='SafeCheckpointHook'),
    dict(type='ParamGroupSummaryHook'),
    dict(type='FinetuneChecksHook', layer_decay_rate=layer_decay),
]
randomness = dict(seed=0, diff_rank_seed=False)
