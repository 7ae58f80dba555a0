# ConMIM ViT-L/16, 1600 epochs (paper: 85.5 top-1 fine-tuned at 224).
_base_ = './vit-l_400e.py'

train_cfg = dict(max_epochs=1600)
