# ConMIM pre-training, shared by configs/conmim/vit-*.py: ViT-B/16 at 224,
# ImageNet-1K, 8 GPUs x 256 = total batch 2048. Each config adds its schedule
# (param_scheduler, train_cfg) and what differs for its model size.
#
# Published settings (paper / official code): AdamW betas (0.9, 0.98), eps 1e-8,
# weight decay 0.05 (not on 1-D parameters, biases, cls token, pos embed),
# per-iteration cosine lr after a linear warm-up, min lr 1e-5, drop path 0,
# AMP, mask ratio 0.75 over 32-pixel cells, temperature 0.1, teacher momentum
# 0.996 -> 1 (cosine). The paper's ViT-S/B lr, warm-up and clipping could not
# be retrieved; these use BEiT's published pre-training values for those sizes:
# lr 1.5e-3, 10 warm-up epochs, clip 3.0, layer scale 0.1.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)

img_size = 224

# ----------------------------------------------------------------- data
# Standard mmpretrain layout (data/imagenet/{train,meta/train.txt}). For the
# official layout use --cfg-options train_dataloader.dataset.data_root=
# data/imagenet1k train_dataloader.dataset.ann_file=train_map.txt
# train_dataloader.dataset.data_prefix=train ; for an unlabeled folder set
# train_dataloader.dataset.type=CustomDataset with data_root/data_prefix.
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

# photometric noise of the key (teacher) view, applied after the shared crop
key_view_noise = [
    dict(
        type='RandomApply',
        prob=0.8,
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.2,
                hue=0.1)
        ]),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),  # BGR order
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
]
train_pipeline = [
    # a file that does not decode raises naming it; on_error='skip' skips it
    dict(type='CheckedLoadImageFromFile', on_error='raise'),
    # one flip and one crop shared by both views
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandomResizedCropAndInterpolationWithTwoPic',
        size=img_size,
        second_size=None,
        scale=(0.08, 1.0),
        interpolation='bicubic'),
    dict(
        type='MultiView',
        num_views=[1, 1],
        # query view (student): no photometric noise; key view (teacher)
        transforms=[[], key_view_noise]),
    dict(
        type='SimMIMMaskGenerator',
        input_size=img_size,
        mask_patch_size=32,
        model_patch_size=16,
        mask_ratio=0.75),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=256,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageNet',
        data_root='data/imagenet',
        split='train',
        pipeline=train_pipeline))

# ----------------------------------------------------------------- model
model = dict(
    type='ConMIM',
    # mmpretrain's BEiTPretrainViT with attention through
    # scaled_dot_product_attention (attention='stock' for the original
    # matmul-softmax-matmul) and optional activation checkpointing (with_cp)
    backbone=dict(
        type='FastBEiTPretrainViT',
        attention='sdpa',
        with_cp=False,
        arch='base',
        img_size=img_size,
        patch_size=16,
        drop_path_rate=0.,
        final_norm=True,
        out_type='raw',
        use_abs_pos_emb=False,
        use_rel_pos_bias=False,
        use_shared_rel_pos_bias=True,
        layer_scale_init_value=0.1,
        # as the official pre-training code: normal with std 0.02 truncated
        # to [-0.02, 0.02] (its std is 0.0108), zero biases; the cls and
        # mask tokens are drawn alike (FastBEiTPretrainViT)
        init_cfg=[
            dict(type='TruncNormal', std=0.02, a=-0.02, b=0.02,
                 layer='Linear'),
            dict(type='TruncNormal', std=0.02, a=-0.02, b=0.02,
                 layer='Conv2d'),
            dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
        ]),
    # projector on every token: Linear-BN-ReLU-Linear-BN-ReLU-Linear-BN,
    # D -> 4096 -> 4096 -> 256, no biases, last BN without affine
    # (mmpretrain's NonLinearNeck; its ReLU backward runs in place)
    neck=dict(
        type='FastNonLinearNeck',
        in_channels=768,
        hid_channels=4096,
        out_channels=256,
        num_layers=3,
        with_bias=False,
        with_last_bn=True,
        with_last_bn_affine=False,
        with_avg_pool=False,
        norm_cfg=dict(type='BN1d'),  # per-device BN; SyncBN selectable
        init_cfg=[
            dict(type='TruncNormal', std=0.02, a=-0.02, b=0.02,
                 layer='Linear'),
            dict(type='Constant', val=1, layer=['_BatchNorm'])
        ]),
    head=dict(type='ConMIMHead', temperature=0.1),
    teacher_momentum=0.996)

# ----------------------------------------------------------------- optimizer
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    # optimise the student only (the teacher follows by momentum)
    constructor='StudentOptimWrapperConstructor',
    # AdamW; fused: one kernel per update instead of a loop over tensors,
    # and one update for all parameter groups with the same settings
    optimizer=dict(
        type='GroupMergingAdamW', lr=1.5e-3, betas=(0.9, 0.98), eps=1e-8,
        weight_decay=0.05, fused=True),
    clip_grad=dict(max_norm=3.0),
    paramwise_cfg=dict(
        bias_decay_mult=0.,
        flat_decay_mult=0.,  # LayerNorm, BatchNorm, layer scale, q/v bias
        custom_keys={
            'cls_token': dict(decay_mult=0.),
            'pos_embed': dict(decay_mult=0.),
        }))
auto_scale_lr = dict(base_batch_size=2048)

# ----------------------------------------------------------------- runtime
custom_hooks = [dict(type='TeacherUpdateHook')]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
randomness = dict(seed=0, diff_rank_seed=True)

# ----------------------------------------------------------------- schedule
# Linear warm-up for 10 epochs, then cosine to 1e-5, both per iteration; the
# cosine ends at train_cfg.max_epochs, which each config sets.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        by_epoch=True,
        begin=10,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop')
