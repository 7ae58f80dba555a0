from .conmim import ConMIM
from .conmim_head import ConMIMHead
from .fast_beit import FastBEiTPretrainViT, FastBEiTViT
from .fast_neck import FastNonLinearNeck
from .sdpa_attention import SDPABEiTAttention
from .sync_batch_norm import PortableSyncBatchNorm

__all__ = [
    'ConMIM', 'ConMIMHead', 'FastBEiTPretrainViT', 'FastBEiTViT',
    'FastNonLinearNeck', 'PortableSyncBatchNorm', 'SDPABEiTAttention'
]
