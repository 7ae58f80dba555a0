# A ConMIM ViT/16 teacher as a downstream backbone, for the linear-probing,
# ADE20K and COCO configs, which merge one of these into model.backbone with
# their arch and input size: ConMIMBEiTViT (mmpretrain's BEiTViT with SDPA
# attention) with a relative position bias in every block and layer scale,
# initialised from the raw ConMIM pre-training checkpoint's momentum teacher
# (ConMIMBEiTViT copies the checkpoint's shared relative position table into
# every block and resizes it bicubically to the task's patch grid at load
# time). Pass the checkpoint:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/vit-b_800e/epoch_800.pth
conmim_vit = dict(
    patch_size=16,
    use_abs_pos_emb=False,
    use_rel_pos_bias=True,
    use_shared_rel_pos_bias=False,
    layer_scale_init_value=0.1,
    init_cfg=dict(
        type='Pretrained', checkpoint='', prefix='teacher.backbone.'))
# dense prediction (BEiT's recipe), from an mmseg or mmdet config: blocks
# 3/5/7/11 of a ViT-B feed a 4-scale pyramid, drop path 0.1, no final norm
conmim_vit_pyramid = dict(
    conmim_vit,
    type='mmpretrain.ConMIMBEiTViT',
    out_type='featmap',
    out_indices=[3, 5, 7, 11],
    drop_path_rate=0.1,
    final_norm=False)
