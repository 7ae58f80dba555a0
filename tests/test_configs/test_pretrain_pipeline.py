"""The two-view pipeline of the pre-training configs."""
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from common import tiny_conmim_cfg


def _pipeline(cfg, noise: bool):
    """The config's pipeline after loading; without key-view noise if asked."""
    steps = [t.copy() for t in cfg.train_pipeline[1:]]
    for step in steps:
        if step['type'] == 'MultiView' and not noise:
            step['transforms'] = [[], []]
    init_default_scope('mmpretrain')
    return Compose(steps)


def _blocks(seed: int) -> np.ndarray:
    """300x260 image of 20-pixel blocks in 4 colours."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (4, 3), dtype=np.uint8)
    blocks = rng.integers(0, 4, (15, 13))
    return palette[np.kron(blocks, np.ones((20, 20), int))]


def _image(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (300, 260, 3), dtype=np.uint8)


@pytest.mark.parametrize('size', [224, 192, 256])
def test_views_share_crop_and_flip(size):
    """Without the colour noise both views are the same pixels."""
    cfg = tiny_conmim_cfg('vit-b_800e.py', img_size=size)
    for step in cfg.train_pipeline:
        if 'size' in step:
            step['size'] = size
        if 'input_size' in step:
            step['input_size'] = size
    pipeline = _pipeline(cfg, noise=False)
    flips = set()
    for seed in range(8):
        np.random.seed(seed)
        out = pipeline(dict(img=_image(seed)))
        query, key = out['inputs']
        assert query.shape == key.shape == (3, size, size)
        assert torch.equal(query, key)
        flips.add(out['data_samples'].flip)
        mask = out['data_samples'].mask
        assert tuple(mask.shape) == (size // 16, size // 16)
        assert mask.sum().item() == int(np.ceil((size // 32)**2 * 0.75)) * 4
    assert flips == {True, False}  # both branches exercised


def test_key_view_noise_keeps_geometry():
    """With the published colour noise, patch j of both views covers the
    same pixels: jitter, grayscale and solarize act on each pixel's own
    colour, so the key view is a function of the query view pixel by pixel
    (Gaussian blur, a local smoothing, is left out of this check)."""
    cfg = tiny_conmim_cfg('vit-b_800e.py')
    for step in cfg.train_pipeline:
        if step['type'] == 'MultiView':
            step['transforms'][1] = [
                t for t in step['transforms'][1] if t['type'] != 'GaussianBlur'
            ]
    pipeline = _pipeline(cfg, noise=True)
    changed = 0
    for seed in range(20):
        np.random.seed(seed)
        query, key = pipeline(dict(img=_blocks(seed)))['inputs']
        changed += not torch.equal(query, key)
        colours = query.flatten(1).T.tolist()
        assert len(set(map(tuple, colours))) < len(colours) / 4
        noised = key.flatten(1).T.tolist()
        mapping = {}
        for colour, out in zip(map(tuple, colours), map(tuple, noised)):
            assert mapping.setdefault(colour, out) == out, seed
    assert changed >= 15  # the key view does get noise (p=0.8 jitter, ...)
