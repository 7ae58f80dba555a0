"""Write runner checkpoints as plain data, read them back into mmengine."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ...checkpoints import check_plain, message_hub_from_plain, to_plain


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Keep runner checkpoints loadable with ``torch.load(weights_only=True)``.

    mmengine 0.10.7 stores its ``MessageHub`` (``HistoryBuffer`` objects
    holding numpy arrays) and numpy scalars in runner checkpoints; a
    weights-only load refuses them. Before a checkpoint is saved this hook
    converts them to plain data and checks that nothing else is left (a
    ``TypeError`` names the offending entry); after a checkpoint is loaded
    (``resume`` / ``load_from``, before the runner restores its MessageHub)
    it rebuilds the history buffers.

    Registered in mmengine's root ``HOOKS``, so it serves every scope
    (mmpretrain, mmseg, mmdet). The configs of this package list it, so
    their checkpoints are plain with any training script;
    ``tools/train.py`` also adds it to configs that do not.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Convert ``checkpoint`` in place to plain data.

        Args:
            runner (Runner): The runner saving the checkpoint.
            checkpoint (dict): The checkpoint about to be written.
        """
        plain = to_plain(checkpoint)
        check_plain(plain)
        checkpoint.clear()
        checkpoint.update(plain)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Rebuild the MessageHub's history buffers in place.

        Args:
            runner (Runner): The runner that loaded the checkpoint.
            checkpoint (dict): The loaded checkpoint.
        """
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = message_hub_from_plain(
                checkpoint['message_hub'])
