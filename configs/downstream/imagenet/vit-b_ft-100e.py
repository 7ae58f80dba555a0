# ImageNet-1K fine-tuning of the ConMIM ViT-B/16 teacher: the published recipe
# (_base_/vit_ft-100e.py). Paper: 83.5 (300e) / 83.7 (800e) top-1. Pass the
# pre-training checkpoint:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/vit-b_800e/epoch_800.pth
_base_ = './_base_/vit_ft-100e.py'
