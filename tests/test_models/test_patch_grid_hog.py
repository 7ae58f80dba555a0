"""PatchGridHOGGenerator: mmpretrain's HOG target grouped by a patch grid of
any size, and the transfer benchmark's MaskFeat config that uses it."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.models import HOGGenerator
from mmpretrain.registry import MODELS, TRANSFORMS
from mmpretrain.structures import DataSample

from common import ROOT
from conmim_mm.launch import load_config
from conmim_mm.models.utils.patch_grid_hog import PatchGridHOGGenerator

MASKFEAT = osp.join(ROOT, 'configs', 'transfer', 'maskfeat.py')


def test_equals_mmpretrain_at_224_px_and_14_patches():
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    ours = PatchGridHOGGenerator(grid_size=14, nbins=9, pool=8,
                                 gaussian_window=16)(x)
    theirs = HOGGenerator(nbins=9, pool=8, gaussian_window=16)(x)
    assert ours.shape == theirs.shape == (2, 196, 108)
    assert torch.equal(ours, theirs)


def textured_in_patch(row: int, col: int, generator) -> torch.Tensor:
    """A 32 px image, zero but for noise well inside one 8-pixel patch (2
    pixels from its borders: the 3x3 Sobel gradient stays in the patch)."""
    image = torch.zeros(3, 32, 32)
    top, left = 8 * row + 2, 8 * col + 2
    image[:, top:top + 4, left:left + 4] = torch.rand(
        3, 4, 4, generator=generator) + 0.5
    return image


def test_32_px_grid_of_4_gives_one_target_per_patch():
    generator = torch.Generator().manual_seed(0)
    x = torch.stack([textured_in_patch(1, 2, generator),
                     textured_in_patch(3, 0, generator)])
    hog = PatchGridHOGGenerator(grid_size=4, nbins=9, pool=4,
                                gaussian_window=8)
    target = hog(x)
    # 16 patches; 3 channels x 9 bins x 2 x 2 cells of 4 pixels per patch
    assert target.shape == (2, 16, 108)
    # each patch's row is the HOG of its own 2 x 2 cells
    cells = hog.out.flatten(1, 2)  # (2, 27, 8, 8)
    assert cells.shape == (2, 27, 8, 8)
    for i in range(4):
        for j in range(4):
            expected = cells[:, :, 2 * i:2 * i + 2,
                             2 * j:2 * j + 2].flatten(1)
            assert torch.equal(target[:, 4 * i + j], expected)
    # only the textured patch has gradients: patch 6 (row 1, column 2) of
    # the first image, patch 12 (row 3, column 0) of the second
    nonzero = target.abs().sum(-1) > 0
    assert nonzero[0].nonzero().flatten().tolist() == [6]
    assert nonzero[1].nonzero().flatten().tolist() == [12]
    # a cell's histogram per channel is L2-normalised (or zero)
    norms = hog.out.norm(dim=2)  # (2, 3, 8, 8)
    assert torch.allclose(norms[norms > 0], torch.ones(()), atol=1e-5)
    assert (norms > 0).sum() > 0


def test_a_grid_that_does_not_divide_the_cells_is_refused():
    hog = PatchGridHOGGenerator(grid_size=3, nbins=9, pool=4,
                                gaussian_window=8)
    with pytest.raises(ValueError,
                       match='8 HOG cells per side do not divide into a grid '
                       'of 3 patches per side'):
        hog(torch.rand(1, 3, 32, 32))


def test_transfer_maskfeat_config_builds_and_gives_a_finite_loss():
    import conmim_mm  # noqa: F401
    cfg = load_config(MASKFEAT)
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    np.random.seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert isinstance(model.target_generator, PatchGridHOGGenerator)
    assert model.target_generator.grid_size == 4
    assert model.backbone.patch_resolution == (4, 4)
    # the config's own mask generator: 6 of the 4 x 4 patches per image
    (mask_cfg, ) = [step for step in cfg.train_pipeline
                    if step['type'] == 'BEiTMaskGenerator']
    mask_generator = TRANSFORMS.build(mask_cfg)
    masks = [torch.from_numpy(mask_generator({})['mask']) for _ in range(2)]
    assert [tuple(m.shape) for m in masks] == [(4, 4), (4, 4)]
    assert [int(m.sum()) for m in masks] == [6, 6]
    samples = [DataSample() for _ in masks]
    for sample, mask in zip(samples, masks):
        sample.set_field(mask, 'mask')
    inputs = torch.randn(2, 3, 32, 32)
    assert model.target_generator(inputs).shape == (2, 16, 108)
    loss = model.loss(inputs, samples)['loss']
    assert loss.ndim == 0
    assert torch.isfinite(loss)
    assert loss.item() > 0
    loss.backward()
    assert torch.isfinite(model.backbone.mask_token.grad).all()
    assert model.backbone.mask_token.grad.abs().sum() > 0
