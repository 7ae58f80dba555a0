# configs/conmim/vit-b_800e.py as published (data pipeline at 224, optimizer
# wrapper, hooks, runtime) with a 2-block ViT of width 32 and a small
# projector, for the test that runs it on a CPU: the published model's own
# sizes are checked by building it on the meta device.
_base_ = '../../../configs/conmim/vit-b_800e.py'

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True, embed_dims=32, num_layers=2, num_heads=2,
            feedforward_channels=128)),
    neck=dict(in_channels=32, hid_channels=128, out_channels=32))
