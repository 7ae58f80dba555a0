from .finetune_checks_hook import FinetuneChecksHook
from .knn_monitor_hook import KNNMonitorHook
from .loss_curve_hook import LossCurveHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .skipped_step_hook import SkippedStepHook
from .teacher_update_hook import TeacherUpdateHook

__all__ = [
    'FinetuneChecksHook', 'KNNMonitorHook', 'LossCurveHook',
    'SafeCheckpointHook', 'SkippedStepHook', 'TeacherUpdateHook'
]
