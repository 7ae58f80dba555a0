# Transfer benchmark: fine-tuning a plain ViT (the family of MAE and
# MaskFeat) with the shared recipe of _base_/finetune.py, initialised as
# mmpretrain's MAE fine-tuning config does: mmpretrain's VisionTransformer,
# mean-pooled patch tokens with a LayerNorm, no final norm (without a
# checkpoint: the `scratch_vit` row).
_base_ = './_base_/finetune.py'

model = dict(
    backbone=dict(
        type='VisionTransformer', out_type='avg_featmap', final_norm=False))
