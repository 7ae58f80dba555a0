# What the transfer benchmark's MAE, MaskFeat and MoCo v3 configs change
# alike in their mmpretrain:: base config (each lists this file after that
# base and merges these pieces; keys named peer_* so as not to collide with
# the base's):
# - the budget's backbone size;
# - data: a plain list of image files (CustomDataset, no labels), which the
#   benchmark tool replaces by the pool of its split, keeping the pipeline;
#   the base's collate_fn carries a `_scope_` key that default_collate
#   rejects; no pin_memory (CPUs);
# - the optimizer wrapper in fp32 (mmengine's AmpOptimWrapper asserts a
#   CUDA/NPU/MLU device; the benchmark runs on CPUs);
# - the budget's iterations: linear warm-up from 1e-4 of the peak, then a
#   cosine (to each base's eta_min), one checkpoint at the end;
# - checkpoints as plain data (conmim_mm's SafeCheckpointHook): mmengine
#   stores HistoryBuffer objects and numpy scalars in a runner checkpoint,
#   which a weights-only torch.load (torch >= 2.6, and conmim_mm's loader
#   behind init_cfg=Pretrained) refuses; conmim_mm is imported for this
#   hook only, the algorithms are mmpretrain's;
# - no auto-resume (MAE's base resumes; in a reused work_dir that would load
#   a finished run and train nothing).
_base_ = './budget.py'

peer_backbone = dict(
    arch=dict(_delete_=True, **_base_.transfer['arch']),
    img_size=_base_.transfer['img_size'],
    patch_size=_base_.transfer['patch_size'])

peer_train_dataloader = dict(
    batch_size=_base_.transfer['batch_size'],
    num_workers=1,
    persistent_workers=False,
    pin_memory=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(_delete_=True, type='default_collate'),
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/transfer',
        ann_file='meta/pool.txt',
        with_label=False))
peer_optim_wrapper = dict(_delete_=True, type='OptimWrapper')
peer_param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=False,
        begin=0,
        end=_base_.transfer['warmup_iters']),
    dict(
        type='CosineAnnealingLR',
        eta_min=0.,
        by_epoch=False,
        begin=_base_.transfer['warmup_iters'],
        end=_base_.transfer['max_iters'])
]
peer_runtime = dict(
    train_cfg=dict(
        _delete_=True,
        type='IterBasedTrainLoop',
        max_iters=_base_.transfer['max_iters']),
    log_processor=dict(by_epoch=False),
    default_hooks=dict(
        logger=dict(interval=50),
        checkpoint=dict(
            type='CheckpointHook',
            interval=_base_.transfer['max_iters'],
            by_epoch=False,
            max_keep_ckpts=1)),
    custom_imports=dict(imports=['conmim_mm'], allow_failed_imports=False),
    custom_hooks=[dict(type='SafeCheckpointHook')],
    randomness=dict(seed=0, diff_rank_seed=True),
    resume=False)
