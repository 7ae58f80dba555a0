# A tiny mmdet Faster R-CNN for the tool tests (scope mmdet; RoIAlign and nms
# from the compiled mmcv ops) on 64x64 images. The tests set the data with
# --cfg-options train_dataloader.dataset.data_root=DIR
# test_dataloader.dataset.data_root=DIR test_evaluator.ann_file=DIR/ann.json
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/default_runtime.py'
]

custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        depth=18,
        base_channels=8,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=dict(in_channels=16, fc_out_channels=32, num_classes=2)))

dataset = dict(
    type='CocoDataset',
    data_root='',
    ann_file='ann.json',
    data_prefix=dict(img='img/'),
    metainfo=dict(classes=('square', 'disc')),
    filter_cfg=dict(filter_empty_gt=False),
    pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(64, 64), keep_ratio=True),
        dict(type='PackDetInputs')
    ])
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=None,
    dataset=dataset)
test_dataloader = dict(
    batch_size=1,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, test_mode=True))
test_evaluator = dict(type='CocoMetric', ann_file='', metric='bbox')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
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
