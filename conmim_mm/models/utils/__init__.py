from .sync_batch_norm import PortableSyncBatchNorm

__all__ = ['PortableSyncBatchNorm']
