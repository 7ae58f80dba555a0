"""The data of a transfer benchmark: a labelled image folder split once into
train, val and test, and the annotation lists its runs read."""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List

from ..image_folder_split import (Sample, labelled_subset, read_image_folder,
                                  split_samples, write_annotations)
from .plan import LabelBudget


@dataclass
class BenchmarkData:
    """A split image folder and its annotation lists.

    Args:
        root (str): The image folder (absolute).
        classes (list[str]): Its class names.
        parts (dict): ``'train'``, ``'val'`` and ``'test'`` -> samples
            (``(path relative to root, label)``, sorted by path).
        meta (str): The folder of the annotation lists: ``<part>.txt``,
            ``pool.txt`` (train + val, no labels: the pre-training data) and
            the labelled subsets.
    """

    root: str
    classes: List[str]
    parts: Dict[str, List[Sample]]
    meta: str

    def ann_file(self, part: str) -> str:
        """The annotation list of a part (or of the ``'pool'``).

        Args:
            part (str): ``'train'``, ``'val'``, ``'test'`` or ``'pool'``.

        Returns:
            str: Its path.
        """
        return osp.join(self.meta, f'{part}.txt')

    def subset(self, labels_per_class: LabelBudget,
               seed: int) -> List[Sample]:
        """The labelled subset of the train part for a seed.

        Args:
            labels_per_class (LabelBudget): Labels per class, or ``'all'``.
            seed (int): The draw's seed (the run's).

        Returns:
            list: Its samples, sorted by path.
        """
        if labels_per_class == 'all':
            return self.parts['train']
        return labelled_subset(self.parts['train'], labels_per_class, seed)

    def subset_indices(self, labels_per_class: LabelBudget,
                       seed: int) -> List[int]:
        """The positions of a labelled subset in the train part.

        Args:
            labels_per_class (LabelBudget): Labels per class, or ``'all'``.
            seed (int): The draw's seed.

        Returns:
            list[int]: Indices into ``parts['train']``, in path order.
        """
        index = {path: i for i, (path, _) in enumerate(self.parts['train'])}
        return [index[path] for path, _ in self.subset(labels_per_class, seed)]

    def subset_file(self, labels_per_class: LabelBudget, seed: int) -> str:
        """The annotation list of a labelled subset, written if need be.

        Args:
            labels_per_class (LabelBudget): Labels per class, or ``'all'``
                (the whole train part).
            seed (int): The draw's seed.

        Returns:
            str: Its path.
        """
        if labels_per_class == 'all':
            return self.ann_file('train')
        return write_annotations(
            self.subset(labels_per_class, seed),
            osp.join(self.meta,
                     f'train_{labels_per_class}-per-class_seed{seed}.txt'))

    def describe(self) -> str:
        """One line: the folder, its classes, the parts' sizes and where the
        annotation lists are."""
        sizes = ', '.join(f'{name} {len(part)}'
                          for name, part in self.parts.items())
        return (f'{self.root}: {len(self.classes)} classes; {sizes} (pool = '
                f'train + val, for pre-training); annotation lists in '
                f'{self.meta}')


def prepare_data(folder: str, meta: str, test_fraction: float = 0.2,
                 val_fraction: float = 0.1) -> BenchmarkData:
    """Split an image folder per class and write its annotation lists.

    The split is fixed (:func:`~conmim_mm.analysis.image_folder_split.
    split_samples` with seed 0): the same folder always gives the same
    parts.

    Args:
        folder (str): A folder with one subfolder of images per class.
        meta (str): Where the annotation lists go.
        test_fraction (float): Share of each class for the test split.
            Defaults to 0.2.
        val_fraction (float): Share of each class for validation. Defaults
            to 0.1.

    Returns:
        BenchmarkData: The split folder.
    """
    root = osp.abspath(folder)
    classes, samples = read_image_folder(root)
    data = BenchmarkData(root, classes,
                         split_samples(samples, test_fraction, val_fraction),
                         osp.abspath(meta))
    for name, part in data.parts.items():
        write_annotations(part, data.ann_file(name))
    write_annotations(sorted(data.parts['train'] + data.parts['val']),
                      data.ann_file('pool'), with_label=False)
    return data
