# The demo config, deterministic, 12 iterations of batch 4, a checkpoint
# every 2, with hooks that inject faults (tests/helpers/faults.py) and save
# every rank's final weights (tests/helpers/rank_dump.py), besides the hooks
# every ConMIM config lists.
_base_ = '../../../configs/conmim/demo_vit-tiny.py'

custom_imports = dict(
    imports=['conmim_mm', 'faults', 'rank_dump'], allow_failed_imports=False)
custom_hooks = [
    dict(type='TeacherUpdateHook'),
    dict(type='FaultInjectionHook'),
    dict(type='RankWeightsDumpHook'),
    dict(type='SkippedStepHook'),
    dict(type='SafeCheckpointHook'),
]
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False)
train_cfg = dict(max_iters=12)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, end=3),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=3)
]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=2, max_keep_ckpts=-1))
randomness = dict(seed=0, diff_rank_seed=True, deterministic=True)
