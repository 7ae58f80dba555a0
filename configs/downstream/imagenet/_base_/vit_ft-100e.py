# ImageNet-1K fine-tuning of a ConMIM ViT-B/16 teacher: the published recipe
# (8 x 128, AdamW lr 4e-3, 100 epochs with 20 warm-up, layer decay 0.65, drop
# path 0.1, mixup 0.8, cutmix 1.0, label smoothing 0.1, RandAugment m9 mstd0.5,
# random erasing 0.25, mean-pooled patch tokens + LayerNorm, min lr 1e-6,
# head initialised at 0.001 x std 0.02), which is mmpretrain's BEiT benchmark
# config except for the ImageNet mean/std, the head's initial scale and the
# min lr per layer. The configs of other sizes set their arch and head width.
# tests/test_configs/test_finetune_recipe.py compares it with the official
# run_class_finetuning.py; configs/downstream/README.md lists what differs.
_base_ = 'mmpretrain::beit/benchmarks/beit-base-p16_8xb128-coslr-100e_in1k.py'

custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)

data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
# the raw ConMIM checkpoint: its momentum teacher's backbone; the shared
# relative position table is copied into every block at load time.
# ConMIMBEiTViT: mmpretrain's BEiTViT (same weights) with attention through
# scaled_dot_product_attention (attention='stock' for the original)
model = dict(
    backbone=dict(
        type='ConMIMBEiTViT',
        attention='sdpa',
        init_cfg=dict(checkpoint='', prefix='teacher.backbone.')),
    # the official head: trunc_normal_(std=0.02) scaled by init_scale 0.001
    head=dict(init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5)]))

# the base's schedule (20 warm-up epochs, then a cosine, both per iteration)
# with the official end: min_lr 1e-6 x each layer's lr scale (the base's
# absolute eta_min 1e-6 is the same for every layer, above the peak lr of
# ViT-L's lowest layers)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], eta_min=None, eta_min_ratio=1e-6 / 4e-3)
]

# checkpoints hold plain data only (they load weights-only); the optimizer's
# parameter groups (layer decay) are logged as one table
custom_hooks = [
    dict(type='SafeCheckpointHook'),
    dict(type='ParamGroupSummaryHook'),
]

# checkpoints are written whole or not at all (a temporary file, renamed)
default_hooks = dict(
    checkpoint=dict(backend_args=dict(backend='atomic_local')))

# the data loaders as mmpretrain's tools/train.py completes them (pinned
# memory, persistent workers, default_collate), stated so that every
# training script runs the same loaders
__loader = dict(
    pin_memory=True,
    persistent_workers=True,
    collate_fn=dict(type='default_collate'))
train_dataloader = __loader
val_dataloader = __loader
test_dataloader = __loader
