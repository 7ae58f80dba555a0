"""Image loading that names the file it cannot read, or skips it."""
import logging
import multiprocessing
from typing import Optional

import mmcv
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log
from mmpretrain.registry import TRANSFORMS

from ..errors import ConfigError, UnreadableImageError


@TRANSFORMS.register_module()
class CheckedLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` with a policy for files that do not decode.

    With ``on_error='raise'`` (default) a missing, truncated or non-image
    file raises :class:`UnreadableImageError` naming the file and the reason
    (``tools/train.py`` prints it as one line). With ``on_error='skip'`` the
    file is skipped with a warning that carries the running count of skipped
    files of this rank (shared by its data-loader workers), and mmengine's
    dataset draws another sample in its place (``max_refetch``), so batches
    keep their size.

    Args:
        on_error (str): ``'raise'`` or ``'skip'``. Defaults to ``'raise'``.
        **kwargs: ``LoadImageFromFile`` arguments (``imdecode_backend``,
            ``color_type``, ``to_float32``, ``backend_args``);
            ``ignore_empty`` is replaced by ``on_error``.
    """

    def __init__(self, on_error: str = 'raise', **kwargs) -> None:
        if on_error not in ('raise', 'skip'):
            raise ConfigError("CheckedLoadImageFromFile.on_error must be "
                              f"'raise' or 'skip', got {on_error!r}")
        if 'ignore_empty' in kwargs:
            raise ConfigError('CheckedLoadImageFromFile takes on_error='
                              "'skip' instead of ignore_empty")
        super().__init__(**kwargs)
        self.on_error = on_error
        # inherited by forked workers: one count per rank
        self._skipped = multiprocessing.Value('q', 0)

    @property
    def skipped(self) -> int:
        """Files skipped so far by this rank."""
        return self._skipped.value

    def _decode(self, path: str):
        """The image of ``path``, or the reason it cannot be had."""
        try:
            data = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError:
            return None, 'no such file'
        except OSError as err:
            return None, f'cannot read it ({err})'
        if not data:
            return None, 'the file is empty'
        try:
            img = mmcv.imfrombytes(
                data, flag=self.color_type, backend=self.imdecode_backend)
        except Exception as err:  # decoders raise many types on bad bytes
            return None, f'{type(err).__name__}: {err}'.strip()
        if img is None:
            return None, 'truncated or not an image'
        return img, None

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']``.

        Args:
            results (dict): From the dataset, with ``img_path``.

        Returns:
            dict | None: ``results`` with ``img`` (H, W, 3) uint8 (float32
            with ``to_float32``), ``img_shape`` and ``ori_shape``; ``None``
            for a skipped file.

        Raises:
            UnreadableImageError: With ``on_error='raise'``.
        """
        path = results['img_path']
        img, problem = self._decode(path)
        if problem is not None:
            problem = ' '.join(problem.split())  # one line
            if self.on_error == 'raise':
                raise UnreadableImageError(
                    f'cannot load image {path}: {problem} (set on_error='
                    "'skip' in CheckedLoadImageFromFile to skip such files)")
            with self._skipped.get_lock():
                self._skipped.value += 1
                count = self._skipped.value
            print_log(
                f'skipped image {path}: {problem} ({count} skipped so far '
                'on this rank)', logger='current', level=logging.WARNING)
            return None
        if self.to_float32:
            img = img.astype('float32')
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f"{super().__repr__()[:-1]}, on_error='{self.on_error}')")
