"""conmim_mm.quiet: each silenced notice is dropped where it comes from
and only there."""
import logging
import warnings

import numpy as np
import pytest
from mmengine.logging import MMLogger, print_log

from conmim_mm.quiet import (QuietLogFilter, quiet_logger,
                             silence_library_warnings)

SILENCED = [
    ('pkg_resources is deprecated as an API. See https://setuptools.pypa.io',
     'mmengine.utils.package_utils'),
    ('pkg_resources is deprecated as an API. See https://setuptools.pypa.io',
     'importlib'),
    ('torch.meshgrid: in an upcoming release, it will be required to pass '
     'the indexing argument. (Triggered internally at x.cpp:1.)',
     'torch.functional'),
    ("Only use 'alpha' for pillow backend.", 'mmcv.image.photometric'),
    ('Fail to import ``MultiScaleDeformableAttention`` from '
     '``mmcv.ops.multi_scale_deform_attn``, You should install ``mmcv`` '
     'rather than ``mmcv-lite`` if you need this module. ',
     'mmcv.cnn.bricks.transformer'),
    ("'pin_memory' argument is set as true but no accelerator is found, "
     "then device pinned memory won't be used.",
     'torch.utils.data.dataloader'),
]


def _shown(message: str, module: str) -> bool:
    """Whether a UserWarning ``message`` attributed to ``module`` is shown
    under the filters of conmim_mm (everything else shown)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        silence_library_warnings()
        warnings.warn_explicit(message, UserWarning, f'{module}.py', 1,
                               module=module)
    return len(caught) == 1


@pytest.mark.parametrize('message,module', SILENCED)
def test_each_warning_is_silenced_from_its_module_only(message, module):
    assert not _shown(message, module)
    # the same words from other code, or other words from that module, show
    assert _shown(message, 'conmim_mm.datasets')
    assert _shown(message, module + '_fork')
    assert _shown('something else went wrong', module)


def test_mmcv_pillow_colour_warning_is_gone_at_the_source():
    import mmcv
    image = np.full((4, 4, 3), 100, np.uint8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        mmcv.adjust_color(image, alpha=0.5, backend='pillow')
        assert len(caught) == 1
        silence_library_warnings()
        mmcv.adjust_color(image, alpha=0.5, backend='pillow')
        assert len(caught) == 1


class _Records(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_quiet_logger_drops_the_library_notices_only():
    from mmengine.fileio import FileClient
    logger = MMLogger.get_instance('test_quiet_logger')
    records = _Records()
    logger.addHandler(records)
    quiet_logger(logger)
    quiet_logger(logger)  # once
    assert sum(isinstance(f, QuietLogFilter) for f in logger.filters) == 1
    FileClient.infer_client(None, '/tmp')  # FileClient + HardDiskBackend
    print_log('paramwise_options -- backbone.cls_token:lr=0.003',
              logger='test_quiet_logger')
    print_log('the FileClient is fine', logger='test_quiet_logger',
              level=logging.WARNING)
    assert records.messages == ['the FileClient is fine']
