from .group_merging_adamw import GroupMergingAdamW
from .student_constructor import StudentOptimWrapperConstructor

__all__ = ['GroupMergingAdamW', 'StudentOptimWrapperConstructor']
