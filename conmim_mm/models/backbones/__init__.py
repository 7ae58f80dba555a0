from .conmim_vit import ConMIMPretrainViT, ConMIMBEiTViT
from .sdpa_attention import SDPABEiTAttention

__all__ = ['ConMIMPretrainViT', 'ConMIMBEiTViT', 'SDPABEiTAttention']
