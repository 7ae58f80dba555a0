from .token_projector import TokenProjector

__all__ = ['TokenProjector']
