"""Import the official ConMIM code (github TencentARC/ConMIM) from a checkout.

Used by ``benchmark_vs_official.py`` and by the parity tests; not part of the
installed package.
"""
import importlib.util
import math
import os.path as osp
import sys
import types

#: Optimizers the official ``optim_factory.py`` imports from timm 0.4 that
#: timm 1.x moved or dropped; only ``AdamW`` and the parameter groups are used.
_TIMM_OPTIMIZERS = [('nadam', 'Nadam'), ('novograd', 'NovoGrad'),
                    ('nvnovograd', 'NvNovoGrad'), ('radam', 'RAdam'),
                    ('sgdp', 'SGDP'), ('adamp', 'AdamP'),
                    ('adafactor', 'Adafactor'), ('adahessian', 'Adahessian'),
                    ('lookahead', 'Lookahead'), ('rmsprop_tf', 'RMSpropTF')]
_TIMM_REGISTRY = 'timm.models.registry'


def _check_checkout(root: str, needed: tuple) -> None:
    if not all(osp.isfile(osp.join(root, name)) for name in needed):
        raise FileNotFoundError(
            f'{root} is not a checkout of github.com/TencentARC/ConMIM (no '
            f'{" / ".join(needed)})')


def _install_standins() -> None:
    """Stand-ins for what torch 2 / timm 1.x no longer have (see
    :func:`import_official_code`); what exists is left as it is."""
    sys.modules.setdefault('torch._six', types.SimpleNamespace(inf=math.inf))
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        sys.modules['tensorboardX'] = types.SimpleNamespace(SummaryWriter=None)
    for module, name in _TIMM_OPTIMIZERS:
        full = f'timm.optim.{module}'
        try:
            getattr(__import__(full, fromlist=[name]), name)
        except (ImportError, AttributeError):
            sys.modules[full] = types.SimpleNamespace(**{name: None})


def import_official_code(root: str) -> types.SimpleNamespace:
    """Import the official ConMIM modules from a checkout at ``root``.

    The official code targets torch 1.x and timm 0.4: ``utils.py`` imports
    ``torch._six`` (gone in torch 2) and ``tensorboardX`` (for logging only),
    ``optim_factory.py`` optimizers timm 1.x moved. Stand-ins are installed
    for what is missing, nothing else is changed.

    Args:
        root (str): A checkout of github.com/TencentARC/ConMIM.

    Returns:
        types.SimpleNamespace: ``engine`` (engine_for_pretraining),
        ``modeling`` (modeling_pretrain), ``optim_factory``, ``utils`` and
        ``masking`` (masking_generator).

    Raises:
        FileNotFoundError: If ``root`` does not hold the official modules.
    """
    _check_checkout(root, ('modeling_pretrain.py', 'engine_for_pretraining.py'))
    sys.path.insert(0, root)
    _install_standins()
    import engine_for_pretraining
    import masking_generator
    import modeling_pretrain
    import optim_factory
    import utils
    return types.SimpleNamespace(
        engine=engine_for_pretraining, modeling=modeling_pretrain,
        optim_factory=optim_factory, utils=utils, masking=masking_generator)


def _load_module(root: str, name: str) -> types.ModuleType:
    """Execute ``root/name.py`` as a module of its own, not registered in
    ``sys.modules`` (a stand-in and a checkout can be loaded side by side)."""
    spec = importlib.util.spec_from_file_location(
        name, osp.join(root, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def import_official_finetune(root: str) -> types.SimpleNamespace:
    """Import the official fine-tuning modules from a checkout at ``root``.

    ``modeling_finetune.py`` (the classifier ``run_class_finetuning.py``
    trains), ``optim_factory.py`` (its layer-decay parameter groups) and
    ``utils.py`` (its learning-rate schedule), with the stand-ins of
    :func:`import_official_code`. Each call loads the files anew from
    ``root``, outside ``sys.modules``; while ``modeling_finetune.py`` runs,
    timm's ``register_model`` is an identity, so its ``beit_*`` functions do
    not replace timm's own models of the same names.

    Args:
        root (str): A checkout of github.com/TencentARC/ConMIM (or the
            stand-in ``tests/helpers/official_standin``).

    Returns:
        types.SimpleNamespace: ``modeling`` (modeling_finetune),
        ``optim_factory`` and ``utils``.

    Raises:
        FileNotFoundError: If ``root`` does not hold the official modules.
    """
    names = ('modeling_finetune', 'optim_factory', 'utils')
    _check_checkout(root, tuple(f'{name}.py' for name in names))
    _install_standins()
    saved = sys.modules.get(_TIMM_REGISTRY)
    sys.modules[_TIMM_REGISTRY] = types.SimpleNamespace(
        register_model=lambda fn: fn)
    try:
        modeling = _load_module(root, 'modeling_finetune')
    finally:
        if saved is None:
            del sys.modules[_TIMM_REGISTRY]
        else:
            sys.modules[_TIMM_REGISTRY] = saved
    return types.SimpleNamespace(
        modeling=modeling, optim_factory=_load_module(root, 'optim_factory'),
        utils=_load_module(root, 'utils'))
