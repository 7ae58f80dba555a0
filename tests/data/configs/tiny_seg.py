# A tiny mmseg segmentor for the tool tests (scope mmseg): 2-block BEiT ViT
# from mmpretrain + FCN head on 32x32 images. The tests set the data folder
# with --cfg-options train_dataloader.dataset.data_root=DIR
# test_dataloader.dataset.data_root=DIR.
_base_ = 'mmseg::_base_/default_runtime.py'

custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)

model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[127.5] * 3,
        std=[127.5] * 3,
        bgr_to_rgb=True,
        size=(32, 32),
        pad_val=0,
        seg_pad_val=255),
    backbone=dict(
        type='mmpretrain.ConMIMViT',
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=2,
            feedforward_channels=64),
        img_size=32,
        patch_size=8,
        out_type='featmap',
        out_indices=[1]),
    decode_head=dict(
        type='FCNHead',
        in_channels=32,
        channels=16,
        num_convs=1,
        num_classes=2,
        in_index=0,
        norm_cfg=dict(type='BN', requires_grad=True),
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

dataset = dict(
    type='BaseSegDataset',
    data_root='',
    data_prefix=dict(img_path='img', seg_map_path='ann'),
    img_suffix='.png',
    seg_map_suffix='.png',
    metainfo=dict(classes=('dark', 'bright'), palette=[[0, 0, 0],
                                                       [255, 255, 255]]),
    pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ])
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dataset)
test_dataloader = dict(
    batch_size=1,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dataset)
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
custom_hooks = [
    dict(type='SafeCheckpointHook'),
    dict(type='ParamGroupSummaryHook')
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=2,
        backend_args=dict(backend='atomic_local')))
