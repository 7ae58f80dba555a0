# ConMIM with a ViT-B/16 at 224 (Yi et al., ICLR 2023; official code): a
# BEiT-style student, its momentum teacher, a projector on every token and
# the patch-level InfoNCE loss. Published settings: drop path 0, temperature
# 0.1, teacher momentum 0.996 -> 1 (cosine over all iterations), layer scale
# 0.1 (BEiT's ViT-B value; the configs of other sizes set theirs).
model = dict(
    type='ConMIM',
    # mmpretrain's BEiTPretrainViT with attention through
    # scaled_dot_product_attention (attention='stock' for the original
    # matmul-softmax-matmul)
    backbone=dict(
        type='ConMIMPretrainViT',
        attention='sdpa',
        arch='base',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.,
        final_norm=True,
        out_type='raw',
        use_abs_pos_emb=False,
        use_rel_pos_bias=False,
        use_shared_rel_pos_bias=True,
        layer_scale_init_value=0.1,
        # as the official pre-training code: normal with std 0.02 truncated
        # to [-0.02, 0.02] (its std is 0.0108), zero biases; the cls and
        # mask tokens are drawn alike (ConMIMPretrainViT)
        init_cfg=[
            dict(type='TruncNormal', std=0.02, a=-0.02, b=0.02,
                 layer='Linear'),
            dict(type='TruncNormal', std=0.02, a=-0.02, b=0.02,
                 layer='Conv2d'),
            dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
        ]),
    # projector on every token: Linear-BN-ReLU-Linear-BN-ReLU-Linear-BN,
    # D -> 4096 -> 4096 -> 256, no biases, last BN without affine
    # (mmpretrain's NonLinearNeck applied to every token)
    neck=dict(
        type='TokenProjector',
        in_channels=768,
        hid_channels=4096,
        out_channels=256,
        num_layers=3,
        with_bias=False,
        with_last_bn=True,
        with_last_bn_affine=False,
        norm_cfg=dict(type='BN1d'),  # per-device BN; SyncBN selectable
        init_cfg=[
            dict(type='TruncNormal', std=0.02, a=-0.02, b=0.02,
                 layer='Linear'),
            dict(type='Constant', val=1, layer=['_BatchNorm'])
        ]),
    head=dict(type='ConMIMHead', temperature=0.1),
    teacher_momentum=0.996)
