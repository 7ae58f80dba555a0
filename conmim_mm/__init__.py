"""ConMIM for OpenMMLab.

A config only needs
``custom_imports = dict(imports=['conmim_mm'], allow_failed_imports=False)``.
Importing this package registers its components (models, engine, datasets)
into the OpenMMLab registries. It has three other effects, each needed for
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
  elsewhere nothing happens.
"""
from .checkpoints import register_safe_loader
from .compat import patch_mmpretrain_beit
from .datasets import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .model_zoo import register_model_zoo
from .models import *  # noqa: F401,F403

__version__ = '0.1.0'

register_safe_loader()
patch_mmpretrain_beit()
register_model_zoo()
