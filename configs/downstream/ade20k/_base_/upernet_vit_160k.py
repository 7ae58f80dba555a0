# ADE20K semantic segmentation, UperNet on a ConMIM ViT-B/16 teacher: BEiT's
# recipe, which the official code follows (512x512 crops, 160k iterations,
# 8 x 2 = 16, AdamW lr 7e-4, layer decay 0.65, 1500 warm-up iterations, poly
# decay, drop path 0.1, blocks 3/5/7/11 -> 4-scale pyramid, slide inference).
# mmseg's MAE 512x512 UperNet config with ConMIMBEiTViT as backbone.
# The configs of other sizes set their arch, pyramid blocks and widths.
_base_ = [
    'mmseg::mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py',
    '../../_base_/conmim_vit-p16.py',
]

custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    # the checkpoint's 14x14 relative position table is resized to the
    # 32x32 grid at load time
    backbone=dict(
        _delete_=True,
        arch='base',
        img_size=(512, 512),
        **_base_.conmim_vit_pyramid))
optim_wrapper = dict(optimizer=dict(lr=7e-4))

# checkpoints hold plain data only (they load weights-only); the optimizer's
# parameter groups (layer decay) are logged as one table
custom_hooks = [
    dict(type='SafeCheckpointHook'),
    dict(type='ParamGroupSummaryHook'),
]

# checkpoints are written whole or not at all (a temporary file, renamed)
default_hooks = dict(
    checkpoint=dict(backend_args=dict(backend='atomic_local')))
