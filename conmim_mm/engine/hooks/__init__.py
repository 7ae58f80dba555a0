from .safe_checkpoint_hook import SafeCheckpointHook
from .teacher_update_hook import TeacherUpdateHook

__all__ = ['SafeCheckpointHook', 'TeacherUpdateHook']
