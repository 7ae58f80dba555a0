"""Update the ConMIM momentum teacher right after each optimizer step."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class TeacherUpdateHook(Hook):
    """Call ``model.momentum_update()`` after every training iteration.

    mmengine runs the optimizer step inside ``train_step``, before the
    ``after_train_iter`` hooks, so the teacher is updated with the weights
    the step just produced, as in the official code. The priority puts the
    update before ``CheckpointHook``, so a checkpoint saved at iteration N
    holds the teacher after update N (the official ``checkpoint_copy``).
    The momentum is logged as ``train/teacher_momentum``.
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Update the teacher of ``runner.model``.

        Args:
            runner (Runner): The training runner.
            batch_idx (int): Index of the batch in the epoch.
            data_batch: Unused.
            outputs: Unused.
        """
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        momentum = model.momentum_update()
        runner.message_hub.update_scalar('train/teacher_momentum', momentum)
