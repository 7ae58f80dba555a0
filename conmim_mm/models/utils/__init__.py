from .data_preprocessor import ConMIMDataPreprocessor
from .sync_batch_norm import PortableSyncBatchNorm

__all__ = ['ConMIMDataPreprocessor', 'PortableSyncBatchNorm']
