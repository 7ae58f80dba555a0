# The budget every method of the transfer benchmark gets alike (see
# docs/en/user_guides/transfer_benchmark.md): one ViT size, one input size,
# one batch and one number of pre-training iterations. A method config lists
# this file after its own base and reads `_base_.transfer`;
# tools/analysis_tools/transfer_benchmark.py
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

# The dense tasks (configs/transfer/segment_*.py, detect_*.py): the digit
# scenes of conmim_mm.analysis.transfer.scenes, 64 x 64 canvases (an 8 x 8
# grid at patch 8, so the pre-training's 4 x 4 position tables are resized),
# fine-tuned alike by every row. On 2 CPU cores the 24 runs of the smaller
# budget take 29 min for segmentation at 400 iterations and 49 min for
# detection at 200 (an iteration costs 2.5 of segmentation's), which keeps
# `make dense` within 90 minutes (each task's recipe was chosen on val at its
# budget: docs/en/user_guides/dense_benchmark.md);
# tools/analysis_tools/transfer_benchmark.py writes val_scenes and
# test_scenes scenes once (the train scenes per --train-scenes).
dense = dict(
    img_size=64,
    batch_size=8,
    segment_max_iters=400,
    segment_warmup_iters=40,
    detect_max_iters=200,
    detect_warmup_iters=20,
    val_scenes=200,
    test_scenes=500,
    scene_seed=0,
)
