# COCO Mask R-CNN on the ConMIM ViT-S/16 teacher (the ViT-B recipe).
_base_ = './mask-rcnn_vit-b_fpn.py'

model = dict(
    backbone=dict(arch='deit-small'),
    neck=[
        dict(
            type='mmseg.Feature2Pyramid',
            embed_dim=384,
            rescales=[4, 2, 1, 0.5],
            norm_cfg=dict(type='SyncBN', requires_grad=True)),
        dict(
            type='FPN',
            in_channels=[384, 384, 384, 384],
            out_channels=256,
            num_outs=5,
            norm_cfg=dict(type='SyncBN', requires_grad=True)),
    ])
