# ConMIM's optimizer and schedule at total batch 2048. Published settings:
# AdamW betas (0.9, 0.98), eps 1e-8, weight decay 0.05 (not on 1-D
# parameters, biases, cls token, pos embed), per-iteration cosine lr after a
# linear warm-up, min lr 1e-5, AMP. The paper's ViT-S/B lr, warm-up and
# clipping could not be retrieved; these are BEiT's published pre-training
# values for those sizes: lr 1.5e-3, 10 warm-up epochs, clip 3.0.

# mixed precision on GPUs (bf16 where supported, else fp16 with a dynamic loss
# scale; fp32 with a warning on a CPU); stops at the first NaN/Inf loss or
# weight, leaving the last good state
optim_wrapper = dict(
    type='CheckedAmpOptimWrapper',
    loss_scale='dynamic',
    # optimise the student only (the teacher follows by momentum)
    constructor='StudentOptimWrapperConstructor',
    # PyTorch's fused AdamW: one kernel per update instead of a loop over
    # tensors
    optimizer=dict(
        type='AdamW', lr=1.5e-3, betas=(0.9, 0.98), eps=1e-8,
        weight_decay=0.05, fused=True),
    clip_grad=dict(max_norm=3.0),
    paramwise_cfg=dict(
        bias_decay_mult=0.,
        flat_decay_mult=0.,  # LayerNorm, BatchNorm, layer scale, q/v bias
        custom_keys={
            'cls_token': dict(decay_mult=0.),
            'pos_embed': dict(decay_mult=0.),
        }))
auto_scale_lr = dict(base_batch_size=2048)

# Linear warm-up for 10 epochs, then cosine to 1e-5, both per iteration; the
# cosine ends at train_cfg.max_epochs, which each config sets.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        by_epoch=True,
        begin=10,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop')
