# The budget every method of the transfer benchmark gets alike (see
# docs/en/user_guides/transfer_benchmark.md): one ViT size, one input size,
# one batch and one number of pre-training iterations. A method config lists
# this file after its own base and reads `_base_.transfer`; tools/analysis_tools/transfer_benchmark.py
# replaces the dataset (the pool of the benchmark's split) and keeps each
# method's pipeline.
transfer = dict(
    # 28 px digits resized to 32 px; 8-pixel patches: a 4 x 4 grid
    img_size=32,
    patch_size=8,
    arch=dict(
        embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384),
    batch_size=64,
    max_iters=1200,
    warmup_iters=120,
)
