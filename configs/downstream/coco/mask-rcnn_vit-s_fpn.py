# COCO Mask R-CNN on the ConMIM ViT-S/16 teacher (the ViT-B recipe).
_base_ = './_base_/mask-rcnn_vit_fpn.py'

# the base's pyramid and FPN at this width
model = dict(
    backbone=dict(arch='deit-small'),
    neck=[
        dict(_base_.model.neck[0], embed_dim=384),
        dict(_base_.model.neck[1], in_channels=[384] * 4),
    ])
