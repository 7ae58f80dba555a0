# ImageNet-1K linear probing of the frozen ConMIM ViT-B/16 teacher with
# mmpretrain's MAE protocol (LARS lr 6.4, batch 16384, 90 epochs with 10
# warm-up, BatchNorm + linear head on the [CLS] token after the pre-training's
# final LayerNorm). The paper's linear-probing setting was not retrieved.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/vit-b_800e/epoch_800.pth
_base_ = 'mmpretrain::mae/benchmarks/vit-base-p16_8xb2048-linear-coslr-90e_in1k.py'

custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='BEiTViT',
        arch='base',
        img_size=224,
        patch_size=16,
        frozen_stages=12,
        out_type='cls_token',
        final_norm=True,
        use_abs_pos_emb=False,
        use_rel_pos_bias=True,
        use_shared_rel_pos_bias=False,
        layer_scale_init_value=0.1,
        # the raw ConMIM checkpoint: its teacher's backbone and final norm
        init_cfg=dict(
            type='Pretrained', checkpoint='', prefix='teacher.backbone.')))
