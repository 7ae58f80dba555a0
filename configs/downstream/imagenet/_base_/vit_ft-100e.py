# ImageNet-1K fine-tuning of a ConMIM ViT-B/16 teacher: the published recipe
# (8 x 128, AdamW lr 4e-3, 100 epochs with 20 warm-up, layer decay 0.65, drop
# path 0.1, mixup 0.8, cutmix 1.0, label smoothing 0.1, RandAugment m9 mstd0.5,
# random erasing 0.25, mean-pooled patch tokens + LayerNorm), which is
# mmpretrain's BEiT benchmark config except for the ImageNet mean/std. The
# configs of other sizes set their arch and head width.
_base_ = 'mmpretrain::beit/benchmarks/beit-base-p16_8xb128-coslr-100e_in1k.py'

custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)

data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
# the raw ConMIM checkpoint: its momentum teacher's backbone; the shared
# relative position table is copied into every block at load time.
# ConMIMViT: mmpretrain's BEiTViT (same weights) with attention through
# scaled_dot_product_attention (attention='stock' for the original)
model = dict(
    backbone=dict(
        type='ConMIMViT',
        attention='sdpa',
        init_cfg=dict(checkpoint='', prefix='teacher.backbone.')))

# checkpoints hold plain data only (they load weights-only)
custom_hooks = [dict(type='SafeCheckpointHook')]
