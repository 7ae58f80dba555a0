# Transfer benchmark: a plain ViT fine-tuned from its [CLS] token with the
# final norm, as mmpretrain's MoCo v3 fine-tuning config does.
_base_ = './_base_/finetune.py'

model = dict(backbone=dict(type='VisionTransformer', out_type='cls_token'))
