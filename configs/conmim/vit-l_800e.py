# ConMIM ViT-L/16, 800 epochs (paper: 85.2 top-1 fine-tuned at 224).
_base_ = './vit-l_400e.py'

train_cfg = dict(max_epochs=800)
