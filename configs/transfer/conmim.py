# Transfer benchmark: ConMIM pre-training of the benchmark's tiny ViT (the
# budget in _base_/budget.py, alike for every method) on the pool of the
# benchmark's split (tools/analysis_tools/transfer_benchmark.py replaces the
# dataset and keeps this pipeline). Published ConMIM choices kept: the
# two-view pipeline (one crop and flip, photometric noise on the teacher's
# view), mask ratio 0.75, projector on every token, temperature 0.1, AdamW
# betas (0.9, 0.98), weight decay 0.05, clipping 3.0, peak lr 1.5e-3 (the lr
# of the published batch, as every method of the benchmark gets its own).
# Scaled for 16 patches and 1200 steps, as the digits demo
# (configs/conmim/demo_vit-tiny.py, which explains each):
# - mask cells of one 8-pixel patch (12 of 16 masked);
# - projector 96 -> 512 -> 512 -> 64;
# - layer scale 1.0 and 10x the lr (no decay) on the shared relative
#   position table, which starts at zero and is the only position signal;
# - teacher momentum 0.99 -> 1 (MoCo v3's published start) instead of 0.996,
#   whose lag of ~250 steps is a fifth of a 1200-step run.
_base_ = ['../conmim/_base_/pretrain.py', './_base_/budget.py']

img_size = _base_.transfer['img_size']
patch_size = _base_.transfer['patch_size']
max_iters = _base_.transfer['max_iters']
warmup_iters = _base_.transfer['warmup_iters']

__changes = dict(
    CheckedLoadImageFromFile=dict(imdecode_backend='pillow'),
    RandomResizedCropAndInterpolationWithTwoPic=dict(size=img_size),
    SimMIMMaskGenerator=dict(
        input_size=img_size,
        mask_patch_size=patch_size,
        model_patch_size=patch_size))
train_pipeline = [
    dict(step, **__changes.get(step.type, {}))
    for step in _base_.train_pipeline
]
train_dataloader = dict(
    batch_size=_base_.transfer['batch_size'],
    num_workers=1,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/transfer',
        ann_file='meta/pool.txt',
        with_label=False,
        pipeline=train_pipeline))

model = dict(
    backbone=dict(
        arch=dict(_delete_=True, **_base_.transfer['arch']),
        img_size=img_size,
        patch_size=patch_size,
        layer_scale_init_value=1.0),
    neck=dict(
        in_channels=_base_.transfer['arch']['embed_dims'],
        hid_channels=512,
        out_channels=64),
    teacher_momentum=0.99)

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        'rel_pos_bias': dict(lr_mult=10., decay_mult=0.)
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False,
         begin=warmup_iters, end=max_iters)
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
