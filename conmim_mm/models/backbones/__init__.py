from .conmim_vit import ConMIMPretrainViT, ConMIMViT
from .sdpa_attention import SDPABEiTAttention

__all__ = ['ConMIMPretrainViT', 'ConMIMViT', 'SDPABEiTAttention']
