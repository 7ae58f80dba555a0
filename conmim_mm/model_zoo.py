"""Register the configs' metafiles with mmpretrain's ``ModelHub``."""
import os.path as osp

from mmpretrain.apis import ModelHub

_CHECKOUT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: ``model-index.yml`` of a source checkout (``pip install -e .``).
MODEL_INDEX = osp.join(_CHECKOUT, 'model-index.yml')
_registered = set()


def register_model_zoo(model_index: str = MODEL_INDEX) -> bool:
    """Make ``mmpretrain.list_models('*conmim*')`` / ``get_model`` know ours.

    The configs ship with the source checkout, not with the installed
    package: outside a checkout (no ``model_index`` file) this does
    nothing. A second call for the same file does nothing either.

    Args:
        model_index (str): The model-index file; its config paths are
            relative to its folder.

    Returns:
        bool: Whether the models were registered.
    """
    model_index = osp.abspath(model_index)
    if model_index in _registered:
        return True
    if not osp.isfile(model_index):
        return False
    ModelHub.register_model_index(
        model_index, config_prefix=osp.dirname(model_index))
    _registered.add(model_index)
    return True
