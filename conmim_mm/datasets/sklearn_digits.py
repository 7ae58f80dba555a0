"""The labelled handwritten digits that ship inside scikit-learn."""
import os
import os.path as osp
import tempfile
from typing import List, Optional

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS


@DATASETS.register_module()
class SklearnDigits(BaseDataset):
    """scikit-learn's 1797 handwritten digits (8x8, 10 classes), no download.

    A small labelled set for the kNN monitor of the demo: ``split='train'``
    is the first ``num_train`` digits, ``'val'`` the ``num_val`` after them.
    Each sample is ``{'img': (8, 8, 3) uint8, 'gt_label': int}``; resize it in
    the pipeline.

    Args:
        split (str): ``'train'`` or ``'val'``.
        num_train (int): Size of the train split. Defaults to 1000.
        num_val (int): Size of the val split. Defaults to 797.
        **kwargs: Passed to ``BaseDataset`` (``pipeline``, ...).
    """

    METAINFO = {'classes': tuple(str(digit) for digit in range(10))}

    def __init__(self,
                 split: str,
                 num_train: int = 1000,
                 num_val: int = 797,
                 **kwargs) -> None:
        if split not in ('train', 'val'):
            raise ValueError(
                f"SklearnDigits.split must be 'train' or 'val', got {split!r}")
        if num_train < 1 or num_val < 1 or num_train + num_val > 1797:
            raise ValueError('SklearnDigits needs num_train >= 1, num_val >= '
                             f'1 and num_train + num_val <= 1797, got '
                             f'{num_train} and {num_val}')
        self.split = split
        self.num_train = num_train
        self.num_val = num_val
        super().__init__(ann_file='', **kwargs)

    def load_data_list(self) -> List[dict]:
        """Digits of the split as 3-channel uint8 images with labels."""
        from sklearn.datasets import load_digits
        digits = load_digits()
        start, stop = (0, self.num_train) if self.split == 'train' else (
            self.num_train, self.num_train + self.num_val)
        images = (digits.images[start:stop] * (255 / 16)).astype(np.uint8)
        return [
            dict(img=np.repeat(image[..., None], 3, axis=2),
                 gt_label=int(label))
            for image, label in zip(images, digits.target[start:stop])
        ]


@DATASETS.register_module()
class SklearnDigitFiles(BaseDataset):
    """scikit-learn's handwritten digits as image files, for pre-training.

    The digits ``start`` to ``stop - 1`` are written once, upscaled to
    ``size`` pixels (bicubic, grey as 3 channels), as PNG files into
    ``cache_dir`` and listed as ``{'img_path': path}``, so that they go
    through the same pipeline as any image folder (loading step included).
    Labels are not kept: pre-training does not see them.

    Args:
        start (int): First digit. Defaults to 800 (after the 500 + 300 the
            demo's kNN monitor uses).
        stop (int): One past the last digit. Defaults to 1797 (all).
        size (int): Side of the written images. Defaults to 32.
        cache_dir (str, optional): Where the files go. Defaults to
            ``<tempdir>/conmim_mm-sklearn_digits`` (a name Python cannot
            import: a ``conmim_mm`` folder in the temporary directory would
            shadow the package for scripts run from there).
        **kwargs: Passed to ``BaseDataset`` (``pipeline``, ...).
    """

    def __init__(self,
                 start: int = 800,
                 stop: int = 1797,
                 size: int = 32,
                 cache_dir: Optional[str] = None,
                 **kwargs) -> None:
        if not 0 <= start < stop <= 1797 or size < 1:
            raise ValueError('SklearnDigitFiles needs 0 <= start < stop <= '
                             f'1797 and size >= 1, got {start}, {stop}, '
                             f'{size}')
        self.start, self.stop, self.size = start, stop, size
        self.cache_dir = osp.join(
            cache_dir
            or osp.join(tempfile.gettempdir(), 'conmim_mm-sklearn_digits'),
            str(size))
        super().__init__(ann_file='', **kwargs)

    def load_data_list(self) -> List[dict]:
        """Write the digits not written yet; one entry per digit."""
        from PIL import Image
        from sklearn.datasets import load_digits
        images = None
        data_list = []
        for index in range(self.start, self.stop):
            path = osp.join(self.cache_dir, f'{index:04d}.png')
            if not osp.isfile(path):
                if images is None:
                    images = (load_digits().images * (255 / 16)).astype(
                        np.uint8)
                    os.makedirs(self.cache_dir, exist_ok=True)
                image = Image.fromarray(images[index]).resize(
                    (self.size, self.size),
                    Image.Resampling.BICUBIC).convert('RGB')
                fd, tmp = tempfile.mkstemp(suffix='.png', dir=self.cache_dir)
                os.close(fd)
                image.save(tmp)
                os.replace(tmp, path)  # atomic: ranks may race
            data_list.append(dict(img_path=path))
        return data_list
