"""ConMIM for OpenMMLab.

A config only needs
``custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)``.
Importing this package registers its components and does nothing else:
models, hooks, optimizer wrappers and constructors, datasets and transforms,
the ``atomic_local`` file backend and, in a source checkout, the model-zoo
metafile (``mmpretrain.list_models('*conmim*')``; :mod:`conmim_mm.model_zoo`).
Warning filters, mmengine's checkpoint loaders and the functions of torch,
mmengine, mmpretrain, mmseg, mmdet and mmcv stay as they were.
"""
from .checkpoints import AtomicLocalBackend  # noqa: F401
from .datasets import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .model_zoo import register_model_zoo
from .models import *  # noqa: F401,F403

__version__ = '0.1.0'

register_model_zoo()
