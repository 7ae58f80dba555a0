# Transfer benchmark, dense task `detect` (./detect_beit.py) for the plain
# ViT family of `mae`, `maskfeat`, `mocov3` and `scratch_vit`: mmpretrain's
# VisionTransformer as ./finetune_vit.py builds it, its feature maps of all
# 4 blocks into the same pyramid, weights under `backbone.` of the
# pre-training checkpoint. Its absolute position embedding of the 4 x 4 grid
# is resized to the 8 x 8 grid at load (mmpretrain's VisionTransformer
# resizes `pos_embed` in a load_state_dict pre-hook, bicubic, and logs
# "Resize the pos_embed shape from ... to ...").
_base_ = './detect_beit.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.VisionTransformer',
        arch=_base_.transfer.arch,
        img_size=_base_.img_size,
        patch_size=_base_.transfer.patch_size,
        out_type='featmap',
        out_indices=list(range(_base_.num_layers)),
        drop_path_rate=0.1,
        final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')))
