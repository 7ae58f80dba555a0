"""Random official fine-tuned classifiers and ours, for the converter tests.

The official modules come from a checkout at ``$CONMIM_OFFICIAL_ROOT`` or
the stand-in ``tests/helpers/official_standin`` (``ROOTS``: the stand-in
always, the checkout where it is set).
"""
import argparse
import os
import os.path as osp
from functools import partial

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope

from common import ROOT

STANDIN = osp.join(ROOT, 'tests', 'helpers', 'official_standin')
OFFICIAL_ROOT = os.environ.get('CONMIM_OFFICIAL_ROOT')
ROOTS = [
    pytest.param(STANDIN, id='standin'),
    pytest.param(
        OFFICIAL_ROOT,
        id='official',
        marks=pytest.mark.skipif(
            not OFFICIAL_ROOT,
            reason='set CONMIM_OFFICIAL_ROOT to a checkout of the official '
            'code')),
]
IMAGENET = osp.join(ROOT, 'configs', 'downstream', 'imagenet')


def official_classifier(official, width, heads, img_size=224, depth=2,
                        num_classes=1000, seed=0):
    """A random official classifier in eval mode: built as
    ``run_class_finetuning.py`` builds it, every parameter then perturbed
    (the tables start at zero, the head near it)."""
    torch.manual_seed(seed)
    model = official.modeling.VisionTransformer(
        img_size=img_size, patch_size=16, embed_dim=width, depth=depth,
        num_heads=heads, mlp_ratio=4, qkv_bias=True,
        norm_layer=partial(nn.LayerNorm, eps=1e-6), num_classes=num_classes,
        use_mean_pooling=True, init_scale=0.001, use_rel_pos_bias=True,
        use_abs_pos_emb=False, init_values=0.1)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.1 * torch.randn_like(param))
    return model.eval()


def save_official(model, path, key='model'):
    """As ``utils.save_model`` saves it (``model``, with the ``args``
    namespace) or DeepSpeed (``module``)."""
    checkpoint = {key: model.state_dict(), 'epoch': 99}
    if key == 'model':
        checkpoint['args'] = argparse.Namespace(
            model='beit_base_patch16_224', lr=4e-3, window_size=(14, 14))
    torch.save(checkpoint, str(path))


def our_classifier(config, width, heads, img_size=224, depth=2):
    """The classifier of ``configs/downstream/imagenet/<config>`` at the
    given size, in eval mode."""
    cfg = Config.fromfile(osp.join(IMAGENET, config))
    cfg.model.backbone.arch = dict(
        embed_dims=width, num_layers=depth, num_heads=heads,
        feedforward_channels=4 * width)
    cfg.model.backbone.img_size = img_size
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg.model).eval()


def preprocess(cfg, path):
    """One image through ``cfg``'s test pipeline and data preprocessor.

    Returns:
        torch.Tensor: (1, 3, H, W), what the classifier sees.
    """
    from mmengine.dataset import Compose, pseudo_collate
    from mmpretrain.registry import MODELS, TRANSFORMS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose(
            [TRANSFORMS.build(t) for t in cfg.test_dataloader.dataset.pipeline])
        data_preprocessor = MODELS.build(
            dict(cfg.data_preprocessor, type='ClsDataPreprocessor'))
    batch = pseudo_collate([pipeline(dict(img_path=path))])
    return data_preprocessor(batch, False)['inputs']
