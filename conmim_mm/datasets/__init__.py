from .checked_loading import CheckedLoadImageFromFile, UnreadableImageError
from .file_check import MissingFilesError, check_listed_files
from .sample_photos import SkimagePhotos
from .sklearn_digits import SklearnDigits

__all__ = [
    'CheckedLoadImageFromFile', 'MissingFilesError', 'SkimagePhotos',
    'SklearnDigits', 'UnreadableImageError', 'check_listed_files'
]
