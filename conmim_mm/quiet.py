"""A log a user can read: harmless notices of the libraries silenced, by our
tools only.

Each filter matches one message from one module. Each of these messages comes
from library code called with correct arguments and asks nothing of a user
running these configs (the comment above each says why ignoring it is safe).
Every other message of those modules, and the same words from any other
module, still reach the log.

Importing :mod:`conmim_mm` installs none of this. Our tools call
:func:`silence_library_warnings` when they start (data-loader workers fork
with the filters) and apply :func:`quiet_logger` to the runner's logger.
"""
import logging
import warnings

#: Messages mmengine logs (not ``warnings``) that a user cannot act on;
#: records starting with one of them are dropped by :class:`QuietLogFilter`.
QUIET_LOG_MESSAGES = (
    # mmengine's CheckpointHook builds a FileClient in every run, whatever
    # the config says, only to keep an old attribute; the checkpoints are
    # written through its file backend as configured.
    '"FileClient" will be deprecated in future.',
    # ... and that FileClient's local-disk backend is the deprecated alias.
    '"HardDiskBackend" is the alias of "LocalBackend"',
    # DefaultOptimWrapperConstructor's one line per parameter (hundreds for
    # a ViT-B); the same settings are logged once as a table per group
    # (ParamGroupSummaryHook).
    'paramwise_options -- ',
)


def silence_library_warnings() -> None:
    """Ignore the library warnings listed here, each by message and module."""
    # mmengine.utils.is_installed imports and reloads pkg_resources each time
    # a config is read; setuptools deprecates that API. mmengine's own
    # concern: nothing in a config or in this package uses pkg_resources.
    # (The reload attributes the warning to importlib.)
    warnings.filterwarnings(
        'ignore', message='pkg_resources is deprecated as an API',
        category=UserWarning,
        module=r'(mmengine\.utils\.package_utils|importlib)\Z')
    # mmpretrain's BEiT relative position index calls torch.meshgrid without
    # `indexing`, meaning 'ij', the order it is written for; should torch
    # require the argument, the call fails instead of changing meaning.
    warnings.filterwarnings(
        'ignore',
        message='torch.meshgrid: in an upcoming release, it will be required '
        'to pass the indexing argument',
        category=UserWarning, module=r'torch\.functional\Z')
    # mmcv.adjust_color warns at every call with the pillow backend, even
    # when, as from mmpretrain's ColorJitter (pillow by default, as in
    # torchvision; the key view's noise), only `alpha` is given.
    warnings.filterwarnings(
        'ignore', message="Only use 'alpha' for pillow backend",
        category=UserWarning, module=r'mmcv\.image\.photometric\Z')
    # With mmcv-lite (the default environment) mmcv's transformer bricks
    # cannot import the compiled deformable attention, which the ViT configs
    # do not use; a config that needs mmcv's ops stops with "install it
    # with `make setup-full`" (conmim_mm.build_errors.missing_package).
    warnings.filterwarnings(
        'ignore',
        message='Fail to import ``MultiScaleDeformableAttention`` from '
        '``mmcv.ops.multi_scale_deform_attn``',
        category=UserWarning, module=r'mmcv\.cnn\.bricks\.transformer\Z')
    # The configs pin data-loader memory for GPU training; without an
    # accelerator torch skips pinning, which is what a CPU run needs.
    warnings.filterwarnings(
        'ignore',
        message="'pin_memory' argument is set as true but no accelerator is "
        'found',
        category=UserWarning, module=r'torch\.utils\.data\.dataloader\Z')


class QuietLogFilter(logging.Filter):
    """Drop the log records whose message starts with one of
    :data:`QUIET_LOG_MESSAGES`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is kept.

        Args:
            record (logging.LogRecord): A record of the filtered logger.

        Returns:
            bool: False for the quiet messages.
        """
        return not str(record.msg).startswith(QUIET_LOG_MESSAGES)


def quiet_logger(logger: logging.Logger) -> None:
    """Attach :class:`QuietLogFilter` to ``logger`` once.

    Args:
        logger (logging.Logger): A runner's logger (``runner.logger``).
    """
    if not any(isinstance(f, QuietLogFilter) for f in logger.filters):
        logger.addFilter(QuietLogFilter())
