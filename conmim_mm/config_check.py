"""Build-time checks of a ConMIM pre-training config.

A mistyped size or ratio in a pre-training config otherwise surfaces as an
assertion deep in a transform, a shape error after the first batch, or not at
all. :func:`check_conmim_config` raises a :class:`ConfigError` (a
``ValueError``) that names the field and the values it may take;
``tools/train.py`` calls it for every config whose model is ``ConMIM`` and
prints it as one line. The model's own arguments (temperature, momentum) are
checked by the model classes with the same error type.
"""
import os.path as osp
from typing import Iterator, Tuple

from mmengine.config import Config, ConfigDict

from .errors import ConfigError


def _sizes(value) -> Tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,
                                                                  value)


def _pipeline_steps(cfg: Config) -> Iterator[Tuple[str, dict]]:
    """(field path, transform) of the training pipeline, nested views too."""
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset.dataset  # dataset wrappers
    prefix = 'train_dataloader.dataset.pipeline'
    for i, step in enumerate(dataset.get('pipeline', [])):
        yield f'{prefix}.{i}', step


def check_conmim_config(cfg: Config) -> None:
    """Raise ``ValueError`` naming the first inconsistent ConMIM setting.

    Checks the backbone's input size against its patch size, the crop size
    and the mask generator (input size, 32-pixel cells, model patch, mask
    ratio in (0, 1)) and the projector's input width against the backbone
    width.

    Args:
        cfg (Config): A pre-training config whose ``model.type`` is
            ``'ConMIM'``.
    """
    from mmpretrain.models.backbones.beit import BEiTViT

    model = cfg.model
    backbone = model.backbone
    patch = backbone.get('patch_size', 16)
    img_size = _sizes(backbone.get('img_size', 224))
    if any(side % patch for side in img_size):
        raise ConfigError(
            f'model.backbone.img_size={backbone.get("img_size", 224)} must '
            f'be divisible by model.backbone.patch_size={patch}')
    arch = backbone.get('arch', 'base')
    width = arch['embed_dims'] if isinstance(arch, (dict, ConfigDict)) \
        else BEiTViT.arch_zoo.get(arch, {}).get('embed_dims')
    if width is not None and model.neck.in_channels != width:
        raise ConfigError(
            f'model.neck.in_channels={model.neck.in_channels} must equal the '
            f'backbone width {width} (model.backbone.arch={arch!r})')
    for field, step in _pipeline_steps(cfg):
        if step.get('type') == 'RandomResizedCropAndInterpolationWithTwoPic' \
                and _sizes(step['size']) != img_size:
            raise ConfigError(
                f'{field}.size={step["size"]} must equal '
                f'model.backbone.img_size={backbone.get("img_size", 224)}')
        if step.get('type') != 'SimMIMMaskGenerator':
            continue
        size = step.get('input_size', 192)
        cell = step.get('mask_patch_size', 32)
        model_patch = step.get('model_patch_size', 4)
        ratio = step.get('mask_ratio', 0.6)
        if _sizes(size) != img_size:
            raise ConfigError(
                f'{field}.input_size={size} must equal '
                f'model.backbone.img_size={backbone.get("img_size", 224)}')
        if model_patch != patch:
            raise ConfigError(
                f'{field}.model_patch_size={model_patch} must equal '
                f'model.backbone.patch_size={patch}')
        if cell % patch or size % cell:
            raise ConfigError(
                f'{field}.mask_patch_size={cell} must be a multiple of the '
                f'patch size {patch} and divide input_size={size}')
        if not 0 < ratio < 1:
            raise ConfigError(
                f'{field}.mask_ratio={ratio} must be in (0, 1)')


def check_pretrained_checkpoint(cfg: Config) -> None:
    """Check ``model.backbone.init_cfg`` of a fine-tuning config at build.

    A ``Pretrained`` init_cfg must name an existing local file (remote URLs
    are left to mmengine) that holds weights under its ``prefix``:
    ``'teacher.backbone.'`` for a raw ConMIM pre-training checkpoint,
    ``'backbone.'`` for one exported by ``extract_backbone.py``. The file is
    opened weights-only and memory-mapped, so this reads only its index.

    Args:
        cfg (Config): Any training config.

    Raises:
        ConfigError: Naming the field, the file and what was expected.
    """
    from .checkpoints import load_checkpoint_file

    backbone = cfg.get('model', {}).get('backbone', {})
    init_cfg = backbone.get('init_cfg') if isinstance(backbone, dict) else None
    if not isinstance(init_cfg, dict) or init_cfg.get('type') != 'Pretrained':
        return
    field = 'model.backbone.init_cfg.checkpoint'
    path = init_cfg.get('checkpoint') or ''
    expected = ('a ConMIM pre-training checkpoint (prefix '
                "'teacher.backbone.') or a backbone exported by "
                "extract_backbone.py (prefix 'backbone.')")
    if not path:
        raise ConfigError(f'{field} is empty: set it to {expected}, e.g. '
                          f'--cfg-options {field}=PATH')
    if '://' in path:
        return
    if not osp.isfile(path):
        raise ConfigError(f'{field}={path} does not exist; expected '
                          f'{expected}')
    try:
        checkpoint = load_checkpoint_file(path, map_location='cpu', mmap=True)
    except RuntimeError:  # a legacy (non-zip) file cannot be memory-mapped
        checkpoint = load_checkpoint_file(path, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else {}
    prefix = init_cfg.get('prefix') or ''
    if not isinstance(state, dict) or not any(
            isinstance(k, str) and k.startswith(prefix) for k in state):
        found = sorted({str(k).split('.')[0] for k in state})[:6] \
            if isinstance(state, dict) else type(state).__name__
        raise ConfigError(
            f'{field}={path} holds no weights under '
            f'model.backbone.init_cfg.prefix={prefix!r} (its top-level keys: '
            f'{found}); expected {expected}')
