"""ConMIM for OpenMMLab.

A config only needs
``custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)``.
Importing this package registers its components (models, engine, datasets)
into the OpenMMLab registries. It has four other effects, each needed for
that registration to serve a user:

* mmengine loads local checkpoint files weights-only
  (:func:`conmim_mm.checkpoints.register_safe_loader`): a file handed to
  ``load_from``, ``--resume`` or ``init_cfg=dict(type='Pretrained')`` can
  never run pickled code;
* mmpretrain's BEiT backbones resize relative position tables (fine-tuning
  at another input size) with torch instead of SciPy's ``interp2d``, which
  SciPy 1.14 removed (:mod:`conmim_mm.compat`);
* in a source checkout, the ConMIM models join mmpretrain's model zoo
  (``mmpretrain.list_models('*conmim*')``; :mod:`conmim_mm.model_zoo`);
  elsewhere nothing happens;
* library warnings a user can do nothing about (deprecations inside
  mmengine, mmcv and torch met with correct arguments) are ignored, each by
  message and module (:mod:`conmim_mm.quiet`), before anything is imported
  that would raise them.
"""
from .quiet import silence_library_warnings

silence_library_warnings()

from .checkpoints import register_safe_loader  # noqa: E402
from .compat import patch_mmpretrain_beit  # noqa: E402
from .datasets import *  # noqa: F401,F403,E402
from .engine import *  # noqa: F401,F403,E402
from .model_zoo import register_model_zoo  # noqa: E402
from .models import *  # noqa: F401,F403,E402

__version__ = '0.1.0'

register_safe_loader()
patch_mmpretrain_beit()
register_model_zoo()
