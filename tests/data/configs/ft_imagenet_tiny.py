# An ImageNet fine-tuning config of configs/downstream/imagenet (the tests
# replace its name in _base_ with each of them) with a tiny ViT (4 blocks of
# 32) at 64x64, for the tool tests; data and sizes come from --cfg-options.
_base_ = [
    '../../../configs/downstream/imagenet/vit-b_ft-100e.py',
    './tiny_vit.py',
]

model = dict(
    backbone=dict(
        arch=dict(_delete_=True, **_base_.tiny_vit_arch), img_size=64),
    head=dict(in_channels=32))
