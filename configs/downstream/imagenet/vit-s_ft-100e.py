# ImageNet-1K fine-tuning of the ConMIM ViT-S/16 teacher. No ViT-S recipe was
# published (the official repo has no ViT-S fine-tuning model); this uses the
# ViT-B recipe unchanged. Paper: 82.0 top-1 (300e).
_base_ = './_base_/vit_ft-100e.py'

model = dict(backbone=dict(arch='deit-small'), head=dict(in_channels=384))
