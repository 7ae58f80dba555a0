from .sample_photos import SkimagePhotos

__all__ = ['SkimagePhotos']
