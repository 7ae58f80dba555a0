from .data_preprocessor import ConMIMDataPreprocessor
from .patch_grid_hog import PatchGridHOGGenerator
from .sync_batch_norm import PortableSyncBatchNorm

__all__ = [
    'ConMIMDataPreprocessor', 'PatchGridHOGGenerator', 'PortableSyncBatchNorm'
]
