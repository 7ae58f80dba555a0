"""ConMIM for OpenMMLab.

Importing this package registers its components into the OpenMMLab
registries and makes mmengine load local checkpoints weights-only
(see :mod:`conmim_mm.checkpoint`), so configs only need
``custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)``.
"""
from .checkpoint import register_safe_loader
from .engine import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403

__version__ = '0.1.0'

register_safe_loader()
