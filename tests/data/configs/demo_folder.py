# demo_faults.py reading a folder (or, with ann_file, a list) of images.
_base_ = './demo_faults.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='',
        with_label=False,
        pipeline={{_base_.train_pipeline}}))
