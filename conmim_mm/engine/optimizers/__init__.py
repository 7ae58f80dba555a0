from .checked_optim_wrapper import (CheckedAmpOptimWrapper,
                                    CheckedOptimWrapper)
from .portable_amp_optim_wrapper import PortableAmpOptimWrapper
from .student_constructor import StudentOptimWrapperConstructor

__all__ = [
    'CheckedAmpOptimWrapper', 'CheckedOptimWrapper',
    'PortableAmpOptimWrapper', 'StudentOptimWrapperConstructor'
]
