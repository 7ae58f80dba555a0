from .conmim import ConMIM
from .conmim_head import ConMIMHead
from .sync_batch_norm import PortableSyncBatchNorm

__all__ = ['ConMIM', 'ConMIMHead', 'PortableSyncBatchNorm']
