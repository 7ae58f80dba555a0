# ConMIM ViT-B/16, 800 epochs (paper: 83.7 top-1 fine-tuned at 224).
_base_ = './_base_/pretrain.py'

train_cfg = dict(max_epochs=800)
