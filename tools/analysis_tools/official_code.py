"""Import the official ConMIM code (github TencentARC/ConMIM) from a checkout.

Used by ``benchmark_vs_official.py`` and by the parity tests; not part of the
installed package.
"""
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
    needed = ('modeling_pretrain.py', 'engine_for_pretraining.py')
    if not all(osp.isfile(osp.join(root, name)) for name in needed):
        raise FileNotFoundError(
            f'{root} is not a checkout of github.com/TencentARC/ConMIM (no '
            f'{" / ".join(needed)})')
    sys.path.insert(0, root)
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
    import engine_for_pretraining
    import masking_generator
    import modeling_pretrain
    import optim_factory
    import utils
    return types.SimpleNamespace(
        engine=engine_for_pretraining, modeling=modeling_pretrain,
        optim_factory=optim_factory, utils=utils, masking=masking_generator)
