# Transfer benchmark: ./finetune_beit.py with a learned absolute position
# embedding and no relative position bias, the backbone of ./conmim_abs.py
# (without a checkpoint: the `scratch_beit_abs` row).
_base_ = './finetune_beit.py'

model = dict(backbone=dict(use_abs_pos_emb=True, use_rel_pos_bias=False))
