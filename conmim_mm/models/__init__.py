from .conmim import ConMIM
from .conmim_head import ConMIMHead

__all__ = ['ConMIM', 'ConMIMHead']
