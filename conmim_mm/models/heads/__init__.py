from .conmim_head import ConMIMHead

__all__ = ['ConMIMHead']
