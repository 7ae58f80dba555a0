"""Count the optimizer steps fp16 dynamic loss scaling skips."""
import logging

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS

from ...errors import ConfigError, NonFiniteError
from ..non_finite import iteration_label


@HOOKS.register_module()
class SkippedStepHook(Hook):
    """Log fp16 overflow skips; stop after too many in a row.

    With a dynamic loss scale (``AmpOptimWrapper``), an overflowing fp16
    gradient makes the scaler skip the optimizer step and halve the scale:
    routine, not a failure. A skip is recognised by the scale going down. Each
    one is logged as a warning with the running count, which is also logged
    as ``train/skipped_steps`` and kept in checkpoints (it continues after a
    resume). ``max_consecutive`` skips in a row mean the gradients are
    non-finite at any scale: the run stops with :class:`NonFiniteError`
    (the student was never changed by a skipped step, so the state is saved).

    Runs before the teacher update and the checkpoint. The ConMIM configs
    list it; ``tools/train.py`` also adds it to configs with an AMP optimizer
    wrapper that do not. With a disabled or no loss scaler (fp32, bfloat16)
    it does nothing.

    Args:
        max_consecutive (int): Consecutive skipped steps that end the run.
            Defaults to 20 (the scale is then 2**-20 of where it was).
    """

    priority = 'HIGH'

    def __init__(self, max_consecutive: int = 20) -> None:
        if max_consecutive < 1:
            raise ConfigError('SkippedStepHook.max_consecutive must be >= 1, '
                              f'got {max_consecutive}')
        self.max_consecutive = max_consecutive
        self.consecutive = 0
        self._scale = None

    @staticmethod
    def _scaler(runner):
        """The optimizer wrapper's enabled loss scaler, or ``None``."""
        scaler = getattr(runner.optim_wrapper, 'loss_scaler', None)
        if scaler is None or not scaler.is_enabled():
            return None
        return scaler

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """Remember the loss scale the step starts with.

        Args:
            runner (Runner): The training runner.
            batch_idx (int): Index of the batch in the epoch.
            data_batch: Unused.
        """
        scaler = self._scaler(runner)
        self._scale = None if scaler is None else scaler.get_scale()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Count a skip if the scale went down; stop after too many.

        Args:
            runner (Runner): The training runner.
            batch_idx (int): Index of the batch in the epoch.
            data_batch: Unused.
            outputs: Unused.

        Raises:
            NonFiniteError: After ``max_consecutive`` skips in a row.
        """
        if self._scale is None:
            return
        hub = runner.message_hub
        total = hub.get_info('skipped_steps', 0)
        scale = self._scaler(runner).get_scale()
        if scale >= self._scale:
            self.consecutive = 0
            hub.update_scalar('train/skipped_steps', total)
            return
        total += 1
        self.consecutive += 1
        hub.update_info('skipped_steps', total)
        hub.update_scalar('train/skipped_steps', total)
        print_log(
            f'{iteration_label()}: fp16 gradients overflowed, the optimizer '
            f'step was skipped (loss scale {self._scale:g} -> {scale:g}); '
            f'{total} skipped in this run, {self.consecutive} in a row',
            logger='current', level=logging.WARNING)
        if self.consecutive >= self.max_consecutive:
            raise NonFiniteError(
                f'{self.consecutive} optimizer steps in a row were skipped '
                f'for fp16 overflow, up to {iteration_label()} (loss scale '
                f'now {scale:g}): the gradients are non-finite at any scale; '
                'lower the lr or train in bf16/fp32 (the limit is '
                f'SkippedStepHook.max_consecutive={self.max_consecutive})')
