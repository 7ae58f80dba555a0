# The test demo with the easy mistake: `custom_hooks = [...]` replaces the
# base's list (and with it TeacherUpdateHook) instead of appending to it.
_base_ = './demo_faults.py'

custom_hooks = [dict(type='SkippedStepHook'), dict(type='SafeCheckpointHook')]
default_hooks = dict(checkpoint=dict(interval=1))
