# Demo: ConMIM pre-training of a tiny ViT on scikit-learn's handwritten digits
# (real scans that ship inside scikit-learn, no download), on a CPU in about
# two minutes (README's first command). Same pipeline steps, loss, teacher
# and optimizer as the published configs; only the data, the sizes and the
# schedule are scaled down so that a short run shows the pretext task being
# learned: the log's `patch_acc` (masked patches whose nearest teacher patch
# is their own) ends near 30% against a chance of 100/16 = 6.25%, and the
# loss ends ~0.8 below ln 16 = 2.77, the loss of a uniform guess.
#
# What was chosen, and why (measured on 2 shared CPU cores; see README):
# - data: the 997 digits after the 800 the kNN monitor uses, upscaled to
#   32 px and written once as PNG files (SklearnDigitFiles), so they go
#   through the published pipeline, file loading included. On the 15
#   scikit-image photos the same model stayed at chance for 600-1200
#   iterations (patch_acc 6-10%, loss at ln N): 75% of a photo crop's
#   patches cannot be told apart from their visible neighbours in so few
#   steps, while a digit's strokes can be completed from the visible ones.
# - input 32 px, 8-pixel patches: N = 16 patches (4 x 4); 64 patches (the
#   former 64 px / 8, or 32 px / 4) stayed at chance in 300-600 iterations,
#   and 16 tokens are four times cheaper, which buys batch 64.
# - mask cells of 8 pixels (one patch; ratio 0.75 as published, 12 of the 16
#   patches masked): with 16-pixel cells a 4 x 4 grid has only four cells,
#   three of them masked, leaving one visible quadrant.
# - 4 blocks of width 96, projector 96 -> 512 -> 512 -> 64: ~0.15 s per
#   iteration of batch 64 on 2 quiet cores.
# - 800 iterations, lr 2e-3 with 60 warm-up iterations, cosine to 1e-5.
# - layer scale 1.0 instead of 0.1, and 10x the lr (no weight decay) on the
#   shared relative position bias table: the backbone has no absolute
#   position embedding, so telling patches apart starts with that table,
#   which starts at zero, and AdamW moves a weight by about lr per step
#   (~0.08 after 100 steps at 1e-3: attention stays uniform and all masked
#   patches of an image come out alike). Without both, the same run reached
#   half the patch_acc (16% at 600 iterations).
# - teacher momentum from 0.99 (cosine to 1, as published) instead of
#   0.996: over 800 steps the teacher then follows the student with a lag of
#   ~100 steps instead of ~250.
# - one data-loader worker: two cores, the main process needs them both.
_base_ = './_base_/pretrain.py'

img_size = 32
patch_size = 8
max_iters = 800
warmup_iters = 60

# The base pipeline with the new sizes merged into its steps, found by type
# (mmengine does not evaluate the base's pipeline again for a new img_size);
# pillow decodes.
__changes = dict(
    CheckedLoadImageFromFile=dict(imdecode_backend='pillow'),
    RandomResizedCropAndInterpolationWithTwoPic=dict(size=img_size),
    SimMIMMaskGenerator=dict(
        input_size=img_size, mask_patch_size=8, model_patch_size=patch_size))
train_pipeline = [
    dict(step, **__changes.get(step.type, {}))
    for step in _base_.train_pipeline
]
train_dataloader = dict(
    batch_size=64,
    num_workers=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='SklearnDigitFiles',
        start=800,
        size=img_size,
        pipeline=train_pipeline))

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True, embed_dims=96, num_layers=4, num_heads=3,
            feedforward_channels=384),
        img_size=img_size,
        patch_size=patch_size,
        layer_scale_init_value=1.0),
    neck=dict(in_channels=96, hid_channels=512, out_channels=64),
    teacher_momentum=0.99)

optim_wrapper = dict(
    optimizer=dict(lr=2e-3),
    paramwise_cfg=dict(custom_keys={
        'rel_pos_bias': dict(lr_mult=10., decay_mult=0.)
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False,
         begin=warmup_iters)
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters=max_iters)

# kNN top-1 of the teacher's features (mean of the patch tokens) on the first
# 800 digits (500 train / 300 val, not trained on) every 200 iterations,
# plotted to knn_curve.png. It measures class-level features, which the
# 16-patch pretext does not build in 800 steps: it stays near the ~30% a
# random-init network already gives (chance 10%); see README.
knn_pipeline = [
    dict(type='Resize', scale=(img_size, img_size), interpolation='bicubic'),
    dict(type='PackInputs')
]
knn_loader = dict(
    batch_size=100,
    num_workers=0,
    dataset=dict(
        type='SklearnDigits', num_train=500, num_val=300,
        pipeline=knn_pipeline))
custom_hooks = _base_.custom_hooks + [
    dict(type='LossCurveHook'),
    dict(
        type='KNNMonitorHook',
        interval=200,
        train_dataloader=dict(
            knn_loader, dataset=dict(knn_loader['dataset'], split='train')),
        val_dataloader=dict(
            knn_loader, dataset=dict(knn_loader['dataset'], split='val'))),
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=200, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
