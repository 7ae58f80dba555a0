# The README's "plain folder of unlabelled images" recipe (configs/conmim).
_base_ = '../../../configs/conmim/vit-b_800e.py'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='',
        with_label=False,
        pipeline={{_base_.train_pipeline}}))
