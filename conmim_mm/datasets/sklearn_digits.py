"""The labelled handwritten digits that ship inside scikit-learn."""
from typing import List

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
