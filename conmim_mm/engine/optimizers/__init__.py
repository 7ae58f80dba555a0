from .checked_optim_wrapper import (CheckedAmpOptimWrapper,
                                    CheckedOptimWrapper)
from .param_group_summary import ParamGroupSummaryHook, param_group_summary
from .portable_amp_optim_wrapper import PortableAmpOptimWrapper
from .student_constructor import StudentOptimWrapperConstructor

__all__ = [
    'CheckedAmpOptimWrapper', 'CheckedOptimWrapper', 'ParamGroupSummaryHook',
    'PortableAmpOptimWrapper', 'StudentOptimWrapperConstructor',
    'param_group_summary'
]
