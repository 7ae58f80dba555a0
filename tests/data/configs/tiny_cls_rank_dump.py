# tiny_cls.py plus a hook that saves every rank's final weights, so the
# distributed test can compare them.
_base_ = './tiny_cls.py'

custom_imports = dict(imports=['conmim_mm', 'rank_dump'])
custom_hooks = [dict(type='RankWeightsDumpHook')]
