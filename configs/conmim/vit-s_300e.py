# ConMIM ViT-S/16, 300 epochs (paper: 82.0 top-1 fine-tuned at 224).
_base_ = './_base_/pretrain.py'

model = dict(
    backbone=dict(arch='deit-small'),  # 384 wide, 12 blocks, 6 heads
    neck=dict(in_channels=384))

train_cfg = dict(max_epochs=300)
