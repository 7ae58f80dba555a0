# Transfer benchmark, dense task `segment` (./segment_beit.py) for the
# backbone family of `conmim_abs` and `scratch_beit_abs`: the BEiT-style ViT
# with a learned absolute position embedding and no relative position bias,
# as ./finetune_beit_abs.py (the embedding of the 4 x 4 grid is resized to
# the 8 x 8 grid at load by mmpretrain's VisionTransformer hook).
_base_ = './segment_beit.py'

model = dict(backbone=dict(use_abs_pos_emb=True, use_rel_pos_bias=False))
