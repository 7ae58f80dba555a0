# ImageNet-1K linear probing of the frozen ConMIM ViT-B/16 teacher with
# mmpretrain's MAE protocol (LARS lr 6.4, batch 16384, 90 epochs with 10
# warm-up, BatchNorm + linear head on the [CLS] token after the pre-training's
# final LayerNorm). The paper's linear-probing setting was not retrieved.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/vit-b_800e/epoch_800.pth
_base_ = [
    'mmpretrain::mae/benchmarks/vit-base-p16_8xb2048-linear-coslr-90e_in1k.py',
    '../_base_/conmim_vit-p16.py',
]

custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)

# the teacher's backbone and final norm, all 12 blocks frozen
model = dict(
    backbone=dict(
        _delete_=True,
        type='ConMIMBEiTViT',
        arch='base',
        img_size=224,
        frozen_stages=12,
        out_type='cls_token',
        final_norm=True,
        **_base_.conmim_vit))

# mixed precision on GPUs (bf16 where supported, else fp16 with a dynamic loss
# scale), fp32 with a warning on a CPU; fp16 overflow skips are counted;
# checkpoints hold plain data only (they load weights-only); the optimizer's
# parameter groups are logged as one table
optim_wrapper = dict(type='PortableAmpOptimWrapper')
custom_hooks = [
    dict(type='SkippedStepHook'),
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
