# A COCO config of configs/downstream/coco (the tests replace its name in
# _base_ with each of them) with a tiny ViT (4 blocks of 32) at 64x64, light
# neck and heads, 2 classes, for the tool tests; the data folder comes from
# --cfg-options.
_base_ = [
    '../../../configs/downstream/coco/mask-rcnn_vit-b_fpn.py',
    './tiny_vit.py',
]

img_size = 64
model = dict(
    backbone=dict(
        arch=dict(_delete_=True, **_base_.tiny_vit_arch),
        img_size=img_size,
        out_indices=[0, 1, 2, 3]),
    neck=[
        dict(_base_.model.neck[0], embed_dim=32),
        dict(_base_.model.neck[1], in_channels=[32] * 4, out_channels=16),
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
# the config's pipelines at this size
__sizes = dict(
    RandomResize=dict(scale=[(64, 40), (64, 56)]),
    Resize=dict(scale=(64, 56)),
    Pad=dict(size=(img_size, img_size)))
train_pipeline, test_pipeline = [
    [dict(step, **__sizes.get(step.type, {})) for step in pipeline]
    for pipeline in (_base_.train_pipeline, _base_.test_pipeline)
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
