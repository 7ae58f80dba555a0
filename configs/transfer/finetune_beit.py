# Transfer benchmark: fine-tuning a BEiT-style ViT (ConMIM's family) with the
# shared recipe of _base_/finetune.py, initialised as the ConMIM fine-tuning
# configs do (configs/downstream/_base_/conmim_vit-p16.py): a relative
# position bias in every block (the checkpoint's shared table copied into
# each), no absolute position embedding, mean-pooled patch tokens with a
# LayerNorm, weights from the momentum teacher. Without a checkpoint it is
# the `scratch_beit` row: the same network from its random initialisation.
_base_ = './_base_/finetune.py'

model = dict(
    backbone=dict(
        type='ConMIMBEiTViT',
        attention='sdpa',
        out_type='avg_featmap',
        use_abs_pos_emb=False,
        use_rel_pos_bias=True,
        use_shared_rel_pos_bias=False,
        layer_scale_init_value=0.1,
        init_cfg=dict(prefix='teacher.backbone.')))
