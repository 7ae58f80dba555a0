# ConMIM ViT-B/16, 300 epochs (paper: 83.5 top-1 fine-tuned at 224).
_base_ = './_base_/pretrain.py'

train_cfg = dict(max_epochs=300)
