# COCO Mask R-CNN on the ConMIM ViT-B/16 teacher: MIMDet's 3x settings on
# mmdet's 3x multi-scale recipe (_base_/mask-rcnn_vit_fpn.py). Pass the
# pre-training checkpoint:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/vit-b_800e/epoch_800.pth
_base_ = './_base_/mask-rcnn_vit_fpn.py'
