# mmpretrain's runtime with the ConMIM components and hooks.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)

# the teacher follows the student after every step; fp16 overflow skips are
# counted; checkpoints hold plain data only (they load weights-only); the
# optimizer's parameter groups are logged as one table
custom_hooks = [
    dict(type='TeacherUpdateHook'),
    dict(type='SkippedStepHook'),
    dict(type='SafeCheckpointHook'),
    dict(type='ParamGroupSummaryHook'),
]
# checkpoints are written to a temporary file, then renamed: a full disk or a
# kill while saving never leaves a partial one
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(
        type='CheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        backend_args=dict(backend='atomic_local')))
randomness = dict(seed=0, diff_rank_seed=True)
# distributed runs: mmengine's DDP wrapper, whose train_step compile=True
# takes apart explicitly (the model's forward compiled inside DDP); mmengine
# gives it device_ids=[LOCAL_RANK] on GPUs, tools/train.py none on CPUs (gloo)
model_wrapper_cfg = dict(
    type='CompilableDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
