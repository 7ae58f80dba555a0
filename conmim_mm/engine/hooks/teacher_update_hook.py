"""Update the ConMIM momentum teacher right after each optimizer step."""
import math

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmpretrain.registry import HOOKS

from ...errors import ConfigError


def accumulative_counts(runner) -> int:
    """Iterations per optimizer step, as the config sets them.

    mmengine 0.10.7 offers no public accessor for the count a wrapper was
    built with, so it is read where the wrapper was built from:
    ``optim_wrapper.accumulative_counts`` of the runner's config (1 when
    absent, mmengine's default).

    Args:
        runner (Runner): The training runner.

    Returns:
        int: The gradient accumulation count.

    Raises:
        ConfigError: For a runner whose wrapper is not one ``OptimWrapper``
            (e.g. an ``OptimWrapperDict``).
    """
    wrapper = runner.optim_wrapper
    if isinstance(wrapper, OptimWrapperDict) or not isinstance(
            wrapper, OptimWrapper):
        raise ConfigError(
            'TeacherUpdateHook needs one mmengine OptimWrapper (the '
            'student\'s), got ' + type(wrapper).__name__)
    return int(runner.cfg.get('optim_wrapper', {}).get(
        'accumulative_counts', 1))


@HOOKS.register_module()
class TeacherUpdateHook(Hook):
    """Call ``model.momentum_update()`` once after every optimizer step.

    mmengine runs the optimizer step inside ``train_step``, before the
    ``after_train_iter`` hooks, so the teacher is updated with the weights
    the step just produced, as in the official code.

    * Gradient accumulation (``optim_wrapper.accumulative_counts=k``): the
      teacher moves only on the iterations where the optimizer wrapper steps
      (``should_update()``: every k-th, and the last), and its cosine
      momentum schedule runs over the ``ceil(max_iters / k)`` optimizer
      steps; k micro-batches of B/k train as one batch of B.
    * An fp16 step the loss scaler skips for overflow still counts as a step:
      the teacher moves toward the unchanged student with that step's
      momentum, as the official code does (it updates the teacher after the
      loss scaler whatever the scaler decided).
    * Before training the hook declares itself to the model
      (``ConMIM.follow_student_with``); a ConMIM model refuses to train
      without such an updater, so a config whose ``custom_hooks`` lost this
      hook stops at its first iteration instead of training against a
      frozen teacher. A second instance of the hook stops the run too (the
      teacher would move twice per step).

    The priority puts the update before ``CheckpointHook``, so a checkpoint
    saved at iteration N holds the teacher after update N (the official
    ``checkpoint_copy``). The momentum is logged as
    ``train/teacher_momentum``.
    """

    priority = 'ABOVE_NORMAL'

    @staticmethod
    def _model(runner):
        """The ConMIM model of ``runner``, unwrapped from DDP."""
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        """Declare this hook as the model's teacher updater.

        Args:
            runner (Runner): The training runner.

        Raises:
            ConfigError: If the runner has another ``TeacherUpdateHook``.
        """
        others = [hook for hook in runner.hooks
                  if isinstance(hook, TeacherUpdateHook) and hook is not self]
        if others:
            raise ConfigError(
                f'{len(others) + 1} TeacherUpdateHooks are registered: the '
                'teacher would be updated that many times per optimizer '
                'step; list it once in custom_hooks')
        self._model(runner).follow_student_with(type(self).__name__)

    def after_train(self, runner) -> None:
        """Withdraw the declaration made in :meth:`before_train`.

        Args:
            runner (Runner): The training runner.
        """
        self._model(runner).follow_student_with(None)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Update the teacher if the optimizer stepped in this iteration.

        Args:
            runner (Runner): The training runner.
            batch_idx (int): Index of the batch in the epoch.
            data_batch: Unused.
            outputs: Unused.
        """
        counts = accumulative_counts(runner)
        if not runner.optim_wrapper.should_update():
            return  # an accumulation-only iteration
        momentum = self._model(runner).momentum_update(
            runner.iter // counts, math.ceil(runner.max_iters / counts))
        runner.message_hub.update_scalar('train/teacher_momentum', momentum)
