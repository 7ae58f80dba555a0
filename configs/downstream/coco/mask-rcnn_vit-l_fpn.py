# COCO Mask R-CNN on the ConMIM ViT-L/16 teacher (the ViT-B recipe; blocks
# 7/11/15/23 feed the pyramid, 24 layers for the layer-wise decay).
_base_ = './_base_/mask-rcnn_vit_fpn.py'

# the base's pyramid and FPN at this width
model = dict(
    backbone=dict(arch='large', out_indices=[7, 11, 15, 23]),
    neck=[
        dict(_base_.model.neck[0], embed_dim=1024),
        dict(_base_.model.neck[1], in_channels=[1024] * 4),
    ])
optim_wrapper = dict(paramwise_cfg=dict(num_layers=24))
