# ConMIM pre-training of a ViT-B/16 at 224 on ImageNet-1K, 8 GPUs x 256 =
# total batch 2048: the pieces in models/, datasets/, schedules/ and the
# runtime. Each config adds its epochs (train_cfg.max_epochs) and what differs
# for its model size.
_base_ = [
    './models/conmim_vit-base-p16.py',
    './datasets/imagenet_conmim.py',
    './schedules/adamw_coslr.py',
    './default_runtime.py',
]
