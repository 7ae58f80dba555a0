# A COCO config of configs/downstream/coco (the tests replace this _base_ with
# each of them) with a tiny ViT (4 blocks of 32) at 64x64, light neck and
# heads, 2 classes, for the tool tests; the data folder comes from
# --cfg-options.
_base_ = '../../../configs/downstream/coco/mask-rcnn_vit-b_fpn.py'

img_size = 64
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=32,
            num_layers=4,
            num_heads=2,
            feedforward_channels=128),
        img_size=img_size,
        out_indices=[0, 1, 2, 3]),
    neck=[
        dict(
            type='mmseg.Feature2Pyramid',
            embed_dim=32,
            rescales=[4, 2, 1, 0.5],
            norm_cfg=norm_cfg),
        dict(
            type='FPN',
            in_channels=[32, 32, 32, 32],
            out_channels=16,
            num_outs=5,
            norm_cfg=norm_cfg),
    ],
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=dict(
            in_channels=16, conv_out_channels=16, fc_out_channels=32,
            num_classes=2),
        mask_roi_extractor=dict(out_channels=16),
        mask_head=dict(in_channels=16, conv_out_channels=16, num_classes=2)))

metainfo = dict(classes=('square', 'disc'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='LoadAnnotations', with_bbox=True, with_mask=True,
        poly2mask=False),
    dict(type='RandomResize', scale=[(64, 40), (64, 56)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=(img_size, img_size)),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 56), keep_ratio=True),
    dict(type='Pad', size=(img_size, img_size)),
    dict(
        type='LoadAnnotations', with_bbox=True, with_mask=True,
        poly2mask=False),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        times=1,
        dataset=dict(
            data_root='',
            ann_file='ann.json',
            data_prefix=dict(img='img/'),
            metainfo=metainfo,
            filter_cfg=dict(filter_empty_gt=True, min_size=0),
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root='',
        ann_file='ann.json',
        data_prefix=dict(img='img/'),
        metainfo=metainfo,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file='')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1)
optim_wrapper = dict(paramwise_cfg=dict(num_layers=4))
