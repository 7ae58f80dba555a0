from .checked_loading import CheckedLoadImageFromFile
from .file_check import check_listed_files
from .sample_photos import SkimagePhotos
from .sklearn_digits import SklearnDigitFiles, SklearnDigits

__all__ = [
    'CheckedLoadImageFromFile', 'SkimagePhotos', 'SklearnDigitFiles',
    'SklearnDigits', 'check_listed_files'
]
