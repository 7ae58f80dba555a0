# Transfer benchmark: ConMIM as in ./conmim.py on the same BEiT-style ViT
# with a learned absolute position embedding instead of the shared relative
# position bias, so that the table can tell the objective from the backbone
# family (plain ViTs, which MAE, MaskFeat and MoCo v3 use, have an absolute
# position embedding).
_base_ = './conmim.py'

model = dict(
    backbone=dict(use_abs_pos_emb=True, use_shared_rel_pos_bias=False))
