# The linear-probing config with a tiny ViT (4 blocks of 32, all frozen) at
# 64x64, for the tool tests (the tests set this _base_).
_base_ = [
    '../../../configs/downstream/imagenet/vit-b_linear-90e.py',
    './tiny_vit.py',
]

model = dict(
    backbone=dict(
        arch=dict(_delete_=True, **_base_.tiny_vit_arch),
        img_size=64,
        frozen_stages=4),
    neck=dict(input_features=32),
    head=dict(in_channels=32))
