# ADE20K UperNet on the ConMIM ViT-L/16 teacher (the ViT-B recipe; blocks
# 7/11/15/23 feed the pyramid, 24 layers for the layer-wise decay).
_base_ = './_base_/upernet_vit_160k.py'

model = dict(
    backbone=dict(arch='large', out_indices=[7, 11, 15, 23]),
    neck=dict(embed_dim=1024),
    decode_head=dict(in_channels=[1024] * 4, channels=1024),
    auxiliary_head=dict(in_channels=1024))
optim_wrapper = dict(paramwise_cfg=dict(num_layers=24))
