# An ADE20K config of configs/downstream/ade20k (the tests replace its name in
# _base_ with each of them) with a tiny ViT (4 blocks of 32, all four feeding
# the pyramid) and light heads, for the tool tests; the 512x512 crops, slide
# inference and optimizer stay as published.
_base_ = [
    '../../../configs/downstream/ade20k/upernet_vit-b_160k.py',
    './tiny_vit.py',
]

model = dict(
    backbone=dict(
        arch=dict(_delete_=True, **_base_.tiny_vit_arch),
        out_indices=[0, 1, 2, 3]),
    neck=dict(embed_dim=32),
    decode_head=dict(in_channels=[32] * 4, channels=16),
    auxiliary_head=dict(in_channels=32, channels=16))
optim_wrapper = dict(paramwise_cfg=dict(num_layers=4))
