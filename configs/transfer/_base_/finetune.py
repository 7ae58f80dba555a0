# The transfer benchmark's one fine-tuning recipe, alike for every method and
# every random-init row (the family configs ../finetune_*.py set only the
# backbone): end-to-end fine-tuning of an mmpretrain ImageClassifier on a
# labelled subset of the pool, evaluated on the validation or the test split.
# tools/analysis_tools/transfer_benchmark.py sets the data root, the
# annotation files, the number of classes and the pre-trained checkpoint.
# Kept from the published MAE / BEiT fine-tuning recipes: AdamW betas (0.9,
# 0.999), weight decay 0.05 (not on norms, biases, tokens, position
# parameters), layer-wise lr decay, drop path 0.1, label smoothing 0.1,
# random resized crops, linear warm-up then a cosine per iteration. Scaled:
# 32 px, no flip (digits are not mirror-symmetric), no RandAugment, mixup or
# cutmix (few images, 16 patches), a fixed number of iterations whatever the
# subset's size. The lr, the layer decay and the iterations were chosen on
# the validation split (docs/en/user_guides/transfer_benchmark.md).
_base_ = ['mmpretrain::_base_/default_runtime.py', './budget.py']

custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)

img_size = _base_.transfer['img_size']
max_iters = 800
warmup_iters = 80

data_preprocessor = dict(
    num_classes=10,
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    to_rgb=True)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        img_size=img_size,
        patch_size=_base_.transfer['patch_size'],
        arch=_base_.transfer['arch'],
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=_base_.transfer['arch']['embed_dims'],
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5)]))

train_pipeline = [
    dict(type='CheckedLoadImageFromFile', imdecode_backend='pillow'),
    dict(
        type='RandomResizedCrop',
        scale=img_size,
        crop_ratio_range=(0.5, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='PackInputs')
]
test_pipeline = [
    dict(type='CheckedLoadImageFromFile', imdecode_backend='pillow'),
    dict(type='Resize', scale=img_size, backend='pillow',
         interpolation='bicubic'),
    dict(type='PackInputs')
]
__dataset = dict(
    type='CustomDataset', data_root='data/transfer', with_label=True)
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(__dataset, ann_file='meta/train.txt',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=250,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(__dataset, ann_file='meta/val.txt', pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(__dataset, ann_file='meta/test.txt',
                 pipeline=test_pipeline))
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(
        type='AdamW', lr=2e-3, weight_decay=0.05, betas=(0.9, 0.999)),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.75,
        custom_keys={
            '.ln': dict(decay_mult=0.0),
            '.bias': dict(decay_mult=0.0),
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0),
            'relative_position_bias_table': dict(decay_mult=0.0),
            '.gamma': dict(decay_mult=0.0),
        }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False,
         begin=warmup_iters, end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=None)  # the benchmark keeps scores, not fine-tuned weights
log_processor = dict(by_epoch=False)
randomness = dict(seed=0, diff_rank_seed=True)
