# Transfer benchmark: MoCo v3 pre-training (mmpretrain's own `MoCoV3`
# algorithm, `MoCoV3ViT` backbone, `NonLinearNeck` projector and
# `MoCoV3Head` predictor, through its own published ViT-S config) scaled to
# the benchmark's tiny ViT on 28 px digits resized to 32 px (see
# ./_base_/budget.py and docs/en/user_guides/transfer_benchmark.md).
#
# What was scaled, and why:
# - backbone: the budget's arch (4 blocks of width 96, 3 heads, MLP 384;
#   the base's string arch 'mocov3-small' replaced), 32 px input, 8-pixel
#   patches: a 4 x 4 grid of 16 patches.
# - projector 96 -> 512 -> 512 -> 64 (3 layers) and predictor 64 -> 512 ->
#   64 (2 layers): the published 4096 hidden / 256 output for a 384-wide
#   backbone, scaled down by 8 (hidden) and 4 (output) and kept above the
#   backbone's width as published; same BN and bias choices.
# - both views' pipelines: the published augmentations with every crop size
#   set to 32 (rebuilt here: mmengine does not evaluate the base's pipelines
#   again for a new size). The blur's sigma range (0.1-2.0 pixels) and the
#   ViT crop scale range (0.08-1.0) are kept as published.
# - optimizer wrapper: plain fp32 `OptimWrapper` instead of `AmpOptimWrapper`
#   (mmengine's AMP wrapper asserts a CUDA/NPU/MLU device; this benchmark
#   runs on CPUs too); same AdamW (default betas 0.9/0.999) and weight decay
#   0.1, no paramwise rules and no clipping, as published.
# - schedule: the benchmark's iterations (linear warm-up, then cosine to 0 as
#   published), batch 64, peak lr = the published lr of batch 4096 (2.4e-3),
#   not scaled down to batch 64; `auto_scale_lr` stays as in the base, and
#   nothing enables it. The momentum encoder's momentum follows the
#   published cosine schedule 0.99 -> 1 (base_momentum 0.01) over the run's
#   max_iters (CosineEMA reads them from the message hub).
# - data: a plain list of image files (`CustomDataset`, no labels); the
#   benchmark tool replaces data_root / ann_file and keeps the pipeline.
#   pin_memory off (no accelerator on CPUs; the base turns it on).
# What was kept: temperature 0.2, the symmetric contrastive (InfoNCE) loss
# with weight 2 x temperature, the frozen random patch projection
# (stop_grad_conv1), fixed 2-D sin-cos position embeddings, the two
# asymmetric views (blur 1.0 / 0.1, solarize 0 / 0.2), the ImageNet mean/std
# data preprocessor (to_rgb).
_base_ = [
    'mmpretrain::mocov3/mocov3_vit-small-p16_16xb256-amp-coslr-300e_in1k.py',
    './_base_/peer_pretrain.py',
]

img_size = _base_.transfer.img_size

model = dict(
    backbone=_base_.peer_backbone,
    neck=dict(
        in_channels=_base_.transfer.arch.embed_dims,
        hid_channels=512,
        out_channels=64),
    head=dict(
        predictor=dict(in_channels=64, hid_channels=512, out_channels=64)))

# The base's view pipelines with the new size merged into their steps, found
# by type, and the two-view pipeline built from them again.
__changes = dict(RandomResizedCrop=dict(scale=img_size))
view_pipeline1 = [
    dict(step, **__changes.get(step.type, {}))
    for step in _base_.view_pipeline1
]
view_pipeline2 = [
    dict(step, **__changes.get(step.type, {}))
    for step in _base_.view_pipeline2
]
train_pipeline = [
    dict(step, transforms=[view_pipeline1, view_pipeline2])
    if step.type == 'MultiView' else step for step in _base_.train_pipeline
]
train_dataloader = dict(
    _base_.peer_train_dataloader,
    dataset=dict(
        _base_.peer_train_dataloader.dataset, pipeline=train_pipeline))
optim_wrapper = dict(
    _base_.peer_optim_wrapper, optimizer=_base_.optim_wrapper.optimizer)
param_scheduler = _base_.peer_param_scheduler
train_cfg = _base_.peer_runtime.train_cfg
log_processor = _base_.peer_runtime.log_processor
default_hooks = _base_.peer_runtime.default_hooks
custom_imports = _base_.peer_runtime.custom_imports
custom_hooks = _base_.peer_runtime.custom_hooks
randomness = _base_.peer_runtime.randomness
resume = _base_.peer_runtime.resume
