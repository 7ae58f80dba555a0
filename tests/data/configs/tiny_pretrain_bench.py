# ConMIM ViT-S/16 pre-training config with a tiny ViT (32 wide, 2 blocks)
# and projector (64 -> 16), for the benchmark tool tests.
_base_ = '../../../configs/conmim/vit-s_300e.py'

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True, embed_dims=32, num_layers=2, num_heads=2,
            feedforward_channels=128)),
    neck=dict(in_channels=32, hid_channels=64, out_channels=16))
