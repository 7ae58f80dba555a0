"""What the pins buy this project's pipeline. (The pinned versions, the
packages' imports, registries and base configs, and mmcv's compiled ops are
checked by the set-up itself: the environment check at the end of
tools/setup_env.sh.)"""
import numpy as np


def test_hue_jitter_works_with_pinned_numpy():
    """numpy 2 made mmcv's adjust_hue overflow for negative hue factors
    (the ConMIM key view jitters the hue by up to 0.1)."""
    from mmpretrain.datasets.transforms import ColorJitter
    transform = ColorJitter(hue=0.1)
    image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), np.uint8)
    for _ in range(30):
        out = transform(dict(img=image.copy()))['img']
        assert out.shape == image.shape and out.dtype == np.uint8
