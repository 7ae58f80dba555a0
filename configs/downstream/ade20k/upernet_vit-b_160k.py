# ADE20K UperNet on the ConMIM ViT-B/16 teacher: BEiT's recipe
# (_base_/upernet_vit_160k.py). Pass the pre-training checkpoint:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/vit-b_800e/epoch_800.pth
_base_ = './_base_/upernet_vit_160k.py'
