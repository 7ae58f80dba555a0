# Demo: ConMIM pre-training of a tiny ViT on the photographs that ship with
# scikit-image, on a CPU in a few minutes (README's first command). Same
# pipeline, loss and teacher as the published configs, scaled down: 64x64
# crops, 8-pixel patches, 16-pixel mask cells (48 of 64 patches masked),
# 4 blocks of width 96, projector 96 -> 512 -> 512 -> 64, 300 iterations,
# with the kNN monitor on.
_base_ = './_base_/pretrain.py'

img_size = 64

# The base pipeline with the new sizes merged into its steps, found by type
# (mmengine does not evaluate the base's pipeline again for a new img_size);
# pillow decodes: libpng's warnings about two photos' colour profiles stay
# quiet.
__changes = dict(
    CheckedLoadImageFromFile=dict(imdecode_backend='pillow'),
    RandomResizedCropAndInterpolationWithTwoPic=dict(size=img_size),
    SimMIMMaskGenerator=dict(
        input_size=img_size, mask_patch_size=16, model_patch_size=8))
train_pipeline = [
    dict(step, **__changes.get(step.type, {}))
    for step in _base_.train_pipeline
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True, type='SkimagePhotos', pipeline=train_pipeline))

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True, embed_dims=96, num_layers=4, num_heads=3,
            feedforward_channels=384),
        img_size=img_size,
        patch_size=8),
    neck=dict(in_channels=96, hid_channels=512, out_channels=64))

optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, end=30),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=30)
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=300)

# kNN top-1 of the teacher's features on scikit-learn's digits (500 train /
# 300 val) every 100 iterations, plotted to knn_curve.png
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
        train_dataloader=dict(
            knn_loader, dataset=dict(knn_loader['dataset'], split='train')),
        val_dataloader=dict(
            knn_loader, dataset=dict(knn_loader['dataset'], split='val'))),
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=100, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
