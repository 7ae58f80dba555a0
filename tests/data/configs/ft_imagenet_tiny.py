# An ImageNet fine-tuning config of configs/downstream/imagenet (the tests
# replace this _base_ with each of them) with a tiny ViT (4 blocks of 32) at
# 64x64, for the tool tests; data and sizes come from --cfg-options.
_base_ = '../../../configs/downstream/imagenet/vit-b_ft-100e.py'

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=32,
            num_layers=4,
            num_heads=2,
            feedforward_channels=128),
        img_size=64),
    head=dict(in_channels=32))
