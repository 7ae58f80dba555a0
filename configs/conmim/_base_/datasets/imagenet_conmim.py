# ImageNet-1K for ConMIM pre-training: 256 images per GPU (8 GPUs x 256 =
# total batch 2048), two views of one crop, a mask of 32-pixel cells at ratio
# 0.75 (148 of the 196 patches at 224).
#
# Standard mmpretrain layout (data/imagenet/{train,meta/train.txt}). For the
# official layout use --cfg-options train_dataloader.dataset.data_root=
# data/imagenet1k train_dataloader.dataset.ann_file=train_map.txt
# train_dataloader.dataset.data_prefix=train ; for an unlabeled folder set
# train_dataloader.dataset.type=CustomDataset with data_root/data_prefix.
img_size = 224

data_preprocessor = dict(
    type='ConMIMDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

# photometric noise of the key (teacher) view, applied after the shared crop
key_view_noise = [
    dict(
        type='RandomApply',
        prob=0.8,
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.2,
                hue=0.1)
        ]),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),  # BGR order
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
]
# A config that changes a size merges the new values into these steps by
# their type (see ../../demo_vit-tiny.py): mmengine does not evaluate this
# list again when a child config sets img_size.
train_pipeline = [
    # a file that does not decode raises naming it; on_error='skip' skips it
    dict(type='CheckedLoadImageFromFile', on_error='raise'),
    # one flip and one crop shared by both views
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandomResizedCropAndInterpolationWithTwoPic',
        size=img_size,
        second_size=None,
        scale=(0.08, 1.0),
        interpolation='bicubic'),
    dict(
        type='MultiView',
        num_views=[1, 1],
        # query view (student): no photometric noise; key view (teacher)
        transforms=[[], key_view_noise]),
    dict(
        type='SimMIMMaskGenerator',
        input_size=img_size,
        mask_patch_size=32,
        model_patch_size=16,
        mask_ratio=0.75),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=256,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageNet',
        data_root='data/imagenet',
        split='train',
        pipeline=train_pipeline))
