# ConMIM ViT-L/16, 400 epochs (paper: 84.6 top-1 fine-tuned at 224).
# The published ViT-L command: 32 GPUs x 64 = 2048, lr 7.5e-4, 10 warm-up
# epochs, clip 1.0, layer scale 1e-5.
_base_ = './_base_/pretrain.py'

model = dict(
    backbone=dict(arch='large', layer_scale_init_value=1e-5),
    neck=dict(in_channels=1024))
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=7.5e-4), clip_grad=dict(max_norm=1.0))

train_cfg = dict(max_epochs=400)
