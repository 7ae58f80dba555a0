# ADE20K UperNet on the ConMIM ViT-S/16 teacher (the ViT-B recipe).
_base_ = './_base_/upernet_vit_160k.py'

model = dict(
    backbone=dict(arch='deit-small'),
    neck=dict(embed_dim=384),
    decode_head=dict(in_channels=[384] * 4, channels=384),
    auxiliary_head=dict(in_channels=384))
