# Transfer benchmark: MaskFeat pre-training (mmpretrain's own `MaskFeat`
# algorithm, `MaskFeatViT` backbone, `LinearNeck`, `MIMHead` and
# `HOGGenerator` target, through its own published config) scaled to the
# benchmark's tiny ViT on 28 px digits resized to 32 px (see
# ./_base_/budget.py and docs/en/user_guides/transfer_benchmark.md).
#
# The HOG target through conmim_mm's PatchGridHOGGenerator: mmpretrain
# 1.2.0's HOGGenerator groups the HOG cells into 14 x 14 tokens whatever the
# input (right for 224 px / 16 only; at 32 px it fails with "step is 0" or
# gives 256 targets for 16 patches); the subclass takes the grid as an
# argument and is otherwise mmpretrain's.
#
# What was scaled, and why:
# - backbone: the budget's arch (4 blocks of width 96, 3 heads, MLP 384),
#   32 px input, 8-pixel patches: a 4 x 4 grid of 16 patches.
# - HOG target: 9 orientation bins per colour channel as published, cells of
#   pool=4 pixels, so each 8-pixel patch holds 2 x 2 cells as each published
#   16-pixel patch holds 2 x 2 cells of 8 pixels: 9 bins x 3 channels x 4
#   cells = 108 values per patch, the published target size (the neck's
#   out_channels 108 unchanged). Gaussian weighting window 8 (std 4): one
#   window per patch, as the published window of 16 is one per 16-pixel
#   patch (the generator tiles it over the image; 32 % 8 == 0).
# - mask: BEiT block masking on the 4 x 4 grid, 6 of 16 patches (37.5%; the
#   published 78 of 196 is 39.8%, 7 of 16 would be 43.8%), blocks of at
#   least 2 patches (the published 15 of 196 scales to 1.2 patch, which
#   would allow single-patch "blocks", i.e. plain random masking; a block
#   is at most 3 x 3 on a 4 x 4 grid). Every sample gets exactly 6.
# - pipeline: the published one with every crop size set to 32 (rebuilt here:
#   mmengine does not evaluate the base's pipeline again for a new size).
# - optimizer wrapper: plain fp32 `OptimWrapper` instead of `AmpOptimWrapper`
#   (mmengine's AMP wrapper asserts a CUDA/NPU/MLU device; this benchmark
#   runs on CPUs too); same AdamW, betas, weight decay, gradient clipping
#   (max norm 0.02) and paramwise rules.
# - schedule: the benchmark's iterations, the same shape for every method
#   (linear warm-up from 1e-4 of the peak, where the base starts at 1e-6,
#   then cosine to the base's eta_min 1e-6), batch 64, peak lr = the
#   published lr of batch 2048 (2e-4 * 8 = 1.6e-3), not scaled down to batch
#   64; `auto_scale_lr` stays as in the base, and nothing enables it.
# - data: a plain list of image files (`CustomDataset`, no labels); the
#   benchmark tool replaces data_root / ann_file and keeps the pipeline.
#   pin_memory off (no accelerator on CPUs; the base turns it on).
# What was kept: the L2 loss on masked patches' HOG, the learned mask token
# and position embedding, RandomResizedCrop(0.5-1.0, bicubic) + horizontal
# flip, AdamW(betas 0.9/0.999, wd 0.05, no decay on norms, biases and the
# mask token), the ImageNet mean/std data preprocessor (to_rgb).
_base_ = [
    'mmpretrain::maskfeat/maskfeat_vit-base-p16_8xb256-amp-coslr-300e_in1k.py',
    './_base_/peer_pretrain.py',
]

img_size = _base_.transfer.img_size
patch_size = _base_.transfer.patch_size
grid = img_size // patch_size  # 4

model = dict(
    backbone=_base_.peer_backbone,
    # 9 bins x 3 channels x (8 / 4)**2 cells
    neck=dict(
        in_channels=_base_.transfer.arch.embed_dims, out_channels=108),
    target_generator=dict(
        type='PatchGridHOGGenerator',
        grid_size=grid,
        nbins=9,
        pool=4,
        gaussian_window=patch_size))

# The base pipeline with the new sizes merged into its steps, found by type.
__changes = dict(
    RandomResizedCrop=dict(scale=img_size),
    BEiTMaskGenerator=dict(
        input_size=grid, num_masking_patches=6, min_num_patches=2))
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
    clip_grad=_base_.optim_wrapper.clip_grad,
    paramwise_cfg=_base_.optim_wrapper.paramwise_cfg)
# cosine to the base's eta_min 1e-6
param_scheduler = [
    _base_.peer_param_scheduler[0],
    dict(_base_.peer_param_scheduler[1], eta_min=1e-6)
]
train_cfg = _base_.peer_runtime.train_cfg
log_processor = _base_.peer_runtime.log_processor
default_hooks = _base_.peer_runtime.default_hooks
custom_imports = _base_.peer_runtime.custom_imports
custom_hooks = _base_.peer_runtime.custom_hooks
randomness = _base_.peer_runtime.randomness
resume = _base_.peer_runtime.resume
