# A tiny mmpretrain classifier used by the tool tests: 2-block BEiT ViT on
# 32x32 images, iteration-based, checkpoint every 2 iterations, deterministic.
# The tests pass the image folder with --cfg-options
# train_dataloader.dataset.data_root=DIR test_dataloader.dataset.data_root=DIR.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='BEiTViT',
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=2,
            feedforward_channels=64),
        img_size=32,
        patch_size=8,
        out_type='avg_featmap'),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=2,
        in_channels=32,
        loss=dict(type='CrossEntropyLoss')))
data_preprocessor = dict(
    num_classes=2, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True)

dataset = dict(
    type='CustomDataset',
    data_root='',
    pipeline=[dict(type='LoadImageFromFile'),
              dict(type='PackInputs')])
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dataset)
test_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dataset)
test_evaluator = dict(type='Accuracy', topk=(1, ))
test_cfg = dict()

optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
param_scheduler = dict(type='CosineAnnealingLR', T_max=4, by_epoch=False)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4)
custom_hooks = [
    dict(type='SafeCheckpointHook'),
    dict(type='ParamGroupSummaryHook')
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(
        type='CheckpointHook', interval=2, by_epoch=False,
        backend_args=dict(backend='atomic_local')))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0, deterministic=True)
