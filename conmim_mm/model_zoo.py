"""Register the configs' metafiles with mmpretrain's ``ModelHub``."""
import os.path as osp

from mmengine.logging import print_log
from mmpretrain.apis import ModelHub

#: ``model-index.yml`` of a source checkout (``pip install -e .``).
MODEL_INDEX = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'model-index.yml')


def register_model_zoo(model_index: str = MODEL_INDEX) -> bool:
    """Make ``mmpretrain.list_models('*conmim*')`` / ``get_model`` know ours.

    Args:
        model_index (str): The model-index file; its config paths are
            relative to its folder.

    Returns:
        bool: Whether the models were registered (the configs ship with the
        source checkout, not with a wheel).
    """
    if not osp.isfile(model_index):
        print_log(
            f'conmim_mm: {model_index} not found (not a source checkout), '
            'so ConMIM models are not in mmpretrain.list_models()',
            logger='current')
        return False
    ModelHub.register_model_index(
        model_index, config_prefix=osp.dirname(model_index))
    return True
