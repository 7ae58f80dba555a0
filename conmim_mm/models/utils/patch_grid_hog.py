"""MaskFeat's HOG target for any patch grid."""
import torch
from mmpretrain.models import HOGGenerator
from mmpretrain.registry import MODELS


@MODELS.register_module()
class PatchGridHOGGenerator(HOGGenerator):
    """mmpretrain's ``HOGGenerator`` with the patch grid as an argument.

    mmpretrain 1.2.0 groups the HOG cells into 14 x 14 tokens whatever the
    input (right for 224 px and 16-pixel patches only): at 32 px with 8-pixel
    patches it fails (``step is 0``) or returns more tokens than patches.
    Here the cells are grouped by ``grid_size`` tokens per side; the HOG
    itself is mmpretrain's.

    Args:
        grid_size (int): Patches per side of the backbone's grid. Defaults to
            14 (mmpretrain's behaviour).
        **kwargs: ``nbins``, ``pool``, ``gaussian_window`` of
            ``HOGGenerator``.
    """

    def __init__(self, grid_size: int = 14, **kwargs) -> None:
        super().__init__(**kwargs)
        self.grid_size = grid_size

    def _reshape(self, hog_feat: torch.Tensor) -> torch.Tensor:
        """(B, 3, nbins, H', W') HOG -> (B, grid_size ** 2, D) targets,
        D = 3 x nbins x (cells per patch)."""
        hog_feat = hog_feat.flatten(1, 2)
        cells = hog_feat.shape[-1]
        if cells % self.grid_size:
            raise ValueError(f'{cells} HOG cells per side do not divide into '
                             f'a grid of {self.grid_size} patches per side')
        self.unfold_size = cells // self.grid_size
        hog_feat = hog_feat.permute(0, 2, 3, 1)
        hog_feat = hog_feat.unfold(1, self.unfold_size,
                                   self.unfold_size).unfold(
                                       2, self.unfold_size, self.unfold_size)
        return hog_feat.flatten(1, 2).flatten(2)
