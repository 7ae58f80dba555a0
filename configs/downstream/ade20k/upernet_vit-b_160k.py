# ADE20K semantic segmentation, UperNet on the ConMIM ViT-B/16 teacher: BEiT's
# recipe, which the official code follows (512x512 crops, 160k iterations,
# 8 x 2 = 16, AdamW lr 7e-4, layer decay 0.65, 1500 warm-up iterations, poly
# decay, drop path 0.1, blocks 3/5/7/11 -> 4-scale pyramid, slide inference).
# mmseg's MAE 512x512 UperNet config with mmpretrain's BEiTViT as backbone.
# Pass the pre-training checkpoint:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/vit-b_800e/epoch_800.pth
_base_ = 'mmseg::mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py'

custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmpretrain.BEiTViT',
        arch='base',
        img_size=(512, 512),
        patch_size=16,
        out_type='featmap',
        out_indices=[3, 5, 7, 11],
        drop_path_rate=0.1,
        final_norm=False,
        use_abs_pos_emb=False,
        use_rel_pos_bias=True,
        use_shared_rel_pos_bias=False,
        layer_scale_init_value=0.1,
        # the raw ConMIM checkpoint: its teacher's backbone; the shared
        # 14x14 relative position table is copied into every block and
        # resized to the 32x32 grid at load time
        init_cfg=dict(
            type='Pretrained', checkpoint='', prefix='teacher.backbone.')))
optim_wrapper = dict(optimizer=dict(lr=7e-4))
