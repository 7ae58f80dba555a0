from .student_constructor import StudentOptimWrapperConstructor

__all__ = ['StudentOptimWrapperConstructor']
