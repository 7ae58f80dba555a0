# COCO instance segmentation: Mask R-CNN with FPN on a ConMIM ViT-B/16
# teacher. The official results used MIMDet's 3x schedule (36 epochs, lr steps
# at 27 and 33, warm-up 0.25 epoch, AdamW lr 3.2e-4 at batch 64, wd 0.1, drop
# path 0.1, SyncBN in FPN and heads, 4conv1fc box head, 2-conv RPN); this is
# mmdet's 3x multi-scale recipe (12 epochs of a 3x repeated set, steps at
# 9 and 11) with those settings. Differences, because BEiT's per-block
# relative position tables need one input size: images are resized to fit
# 1024 (short side 480-800 at training) and padded to 1024x1024, and blocks
# 3/5/7/11 feed a 4-scale pyramid (Feature2Pyramid) before the FPN; layer-wise
# lr decay 0.7 follows ViTDet. The configs of other sizes set their arch,
# pyramid blocks and widths.
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_ms-poly-3x_coco.py',
    '../../_base_/conmim_vit-p16.py',
]

custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)

img_size = 1024
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    # the checkpoint's 14x14 relative position table is resized to the
    # 64x64 grid at load time
    backbone=dict(
        _delete_=True,
        arch='base',
        img_size=img_size,
        **_base_.conmim_vit_pyramid),
    neck=[
        dict(
            type='mmseg.Feature2Pyramid',
            embed_dim=768,
            rescales=[4, 2, 1, 0.5],
            norm_cfg=norm_cfg),
        dict(
            type='FPN',
            in_channels=[768] * 4,
            out_channels=256,
            num_outs=5,
            norm_cfg=norm_cfg),
    ],
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='LoadAnnotations', with_bbox=True, with_mask=True,
        poly2mask=False),
    dict(
        type='RandomResize',
        scale=[(img_size, 480), (img_size, 800)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=(img_size, img_size)),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, 800), keep_ratio=True),
    dict(type='Pad', size=(img_size, img_size)),
    dict(
        type='LoadAnnotations', with_bbox=True, with_mask=True,
        poly2mask=False),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
# 8 GPUs x 8 = 64
train_dataloader = dict(
    batch_size=8, dataset=dict(dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# mixed precision on GPUs (bf16 where supported, else fp16 with a dynamic loss
# scale), fp32 with a warning on a CPU
optim_wrapper = dict(
    _delete_=True,
    type='PortableAmpOptimWrapper',
    optimizer=dict(
        type='AdamW', lr=3.2e-4, betas=(0.9, 0.999), weight_decay=0.1),
    constructor='mmseg.LearningRateDecayOptimizerConstructor',
    paramwise_cfg=dict(
        num_layers=12, decay_rate=0.7, decay_type='layer_wise'))
# warm-up over 0.25 epoch of COCO train2017 at batch 64 (~462 iterations)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=462),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True,
         milestones=[9, 11], gamma=0.1),
]
auto_scale_lr = dict(base_batch_size=64)

# fp16 overflow skips are counted; checkpoints hold plain data only (they load
# weights-only); the optimizer's parameter groups (layer decay) are logged as
# one table
custom_hooks = [
    dict(type='SkippedStepHook'),
    dict(type='SafeCheckpointHook'),
    dict(type='ParamGroupSummaryHook'),
]

# checkpoints are written whole or not at all (a temporary file, renamed)
default_hooks = dict(
    checkpoint=dict(backend_args=dict(backend='atomic_local')))
