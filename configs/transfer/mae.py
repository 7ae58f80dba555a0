# Transfer benchmark: MAE pre-training (mmpretrain's own `MAE` algorithm,
# `MAEViT` backbone, `MAEPretrainDecoder` neck and `MAEPretrainHead`, through
# its own published config) scaled to the benchmark's tiny ViT on 28 px
# digits resized to 32 px (see ./_base_/budget.py and
# docs/en/user_guides/transfer_benchmark.md).
#
# What was scaled, and why:
# - backbone: the budget's arch (4 blocks of width 96, 3 heads, MLP 384),
#   32 px input, 8-pixel patches: a 4 x 4 grid of 16 patches.
# - decoder: 16 patches of 8 pixels, width 64, depth 2, 2 heads. The
#   published decoder (width 512, depth 8, 16 heads on a 768-wide, 12-deep
#   encoder) is narrower than the encoder (2/3) with a head width of 32 and
#   2/3 of its depth; here 64/96 of the width with the same head width of 32,
#   and 2 of the encoder's 4 blocks (rounded down from 2.7: the decoder stays
#   the light part of the model).
# - pipeline: the published one with every crop size set to 32 (rebuilt here:
#   mmengine does not evaluate the base's pipeline again for a new size).
# - optimizer wrapper: plain fp32 `OptimWrapper` instead of `AmpOptimWrapper`
#   (mmengine's AMP wrapper asserts a CUDA/NPU/MLU device; this benchmark
#   runs on CPUs too); same AdamW, betas, weight decay and paramwise rules.
# - schedule: the benchmark's iterations (linear warm-up, then cosine to 0 as
#   published), batch 64, peak lr = the published lr of batch 4096
#   (1.5e-4 * 4096 / 256 = 2.4e-3), not scaled down to batch 64;
#   `auto_scale_lr` stays as in the base, and nothing enables it.
# - data: a plain list of image files (`CustomDataset`, no labels); the
#   benchmark tool replaces data_root / ann_file and keeps the pipeline.
# - resume: False (the base auto-resumes; in a reused work_dir that would
#   load a finished run's last checkpoint and train nothing).
# What was kept: mask ratio 0.75 (12 of 16 patches hidden, 4 seen), the
# normalized-pixel L2 target on masked patches, fixed 2-D sin-cos position
# embeddings, the init, RandomResizedCrop(0.2-1.0, bicubic) + horizontal
# flip, AdamW(betas 0.9/0.95, wd 0.05, no decay on norms, biases, tokens and
# position embeddings), the ImageNet mean/std data preprocessor (to_rgb).
_base_ = [
    'mmpretrain::mae/mae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py',
    './_base_/peer_pretrain.py',
]

img_size = _base_.transfer.img_size
patch_size = _base_.transfer.patch_size
num_patches = (img_size // patch_size)**2  # 16

model = dict(
    backbone=_base_.peer_backbone,
    neck=dict(
        num_patches=num_patches,
        patch_size=patch_size,
        embed_dim=_base_.transfer.arch.embed_dims,
        decoder_embed_dim=64,
        decoder_depth=2,
        decoder_num_heads=2),
    head=dict(patch_size=patch_size))

# The base pipeline with the new size merged into its steps, found by type.
__changes = dict(RandomResizedCrop=dict(scale=img_size))
train_pipeline = [
    dict(step, **__changes.get(step.type, {}))
    for step in _base_.train_pipeline
]
train_dataloader = dict(
    _base_.peer_train_dataloader,
    dataset=dict(
        _base_.peer_train_dataloader.dataset, pipeline=train_pipeline))
optim_wrapper = dict(
    _base_.peer_optim_wrapper,
    optimizer=_base_.optim_wrapper.optimizer,
    paramwise_cfg=_base_.optim_wrapper.paramwise_cfg)
param_scheduler = _base_.peer_param_scheduler
train_cfg = _base_.peer_runtime.train_cfg
log_processor = _base_.peer_runtime.log_processor
default_hooks = _base_.peer_runtime.default_hooks
custom_imports = _base_.peer_runtime.custom_imports
custom_hooks = _base_.peer_runtime.custom_hooks
randomness = _base_.peer_runtime.randomness
resume = _base_.peer_runtime.resume
