from .sample_photos import SkimagePhotos
from .sklearn_digits import SklearnDigits

__all__ = ['SkimagePhotos', 'SklearnDigits']
