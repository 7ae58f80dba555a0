"""ConMIM for OpenMMLab.

Importing this package registers its components into the OpenMMLab
registries, makes mmengine load local checkpoints weights-only (see
:mod:`conmim_mm.checkpoint`) and lists the ConMIM models in mmpretrain's model
zoo (``mmpretrain.list_models('*conmim*')``); mmpretrain's BEiT backbones then
resize relative position tables with torch instead of the SciPy ``interp2d``
that SciPy 1.14 removed (:mod:`conmim_mm.compat`). A config only needs
``custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)``.
"""
from .checkpoint import register_safe_loader
from .compat import patch_mmpretrain_beit
from .datasets import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .model_zoo import register_model_zoo
from .models import *  # noqa: F401,F403

__version__ = '0.1.0'

register_safe_loader()
register_model_zoo()
patch_mmpretrain_beit()
