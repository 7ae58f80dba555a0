# COCO Mask R-CNN on the ConMIM ViT-L/16 teacher (the ViT-B recipe; blocks
# 7/11/15/23 feed the pyramid, 24 layers for the layer-wise decay).
_base_ = './mask-rcnn_vit-b_fpn.py'

model = dict(
    backbone=dict(arch='large', out_indices=[7, 11, 15, 23]),
    neck=[
        dict(
            type='mmseg.Feature2Pyramid',
            embed_dim=1024,
            rescales=[4, 2, 1, 0.5],
            norm_cfg=dict(type='SyncBN', requires_grad=True)),
        dict(
            type='FPN',
            in_channels=[1024, 1024, 1024, 1024],
            out_channels=256,
            num_outs=5,
            norm_cfg=dict(type='SyncBN', requires_grad=True)),
    ])
optim_wrapper = dict(paramwise_cfg=dict(num_layers=24))
