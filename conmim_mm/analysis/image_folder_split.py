"""A fixed, stratified split of a labelled image folder for transfer
benchmarks: a pool (pre-training, labels unused) made of a labelled ``train``
part and a ``val`` part, and a ``test`` split kept out of everything but the
final evaluation."""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                    '.tiff', '.webp')
Sample = Tuple[str, int]


def read_image_folder(folder: str) -> Tuple[List[str], List[Sample]]:
    """List a folder with one subfolder of images per class.

    Args:
        folder (str): The folder.

    Returns:
        tuple: The class names (sorted subfolder names) and the samples, each
        ``(path relative to folder, class index)``, sorted by path.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        ValueError: Fewer than two classes, or a class without images.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder {folder} does not exist')
    classes = sorted(name for name in os.listdir(folder)
                     if osp.isdir(osp.join(folder, name)))
    if len(classes) < 2:
        raise ValueError(f'{folder} needs one subfolder of images per class '
                         f'and at least two classes, found {classes}')
    samples = []
    for label, name in enumerate(classes):
        files = sorted(
            osp.join(name, file) for file in os.listdir(osp.join(folder, name))
            if file.lower().endswith(IMAGE_EXTENSIONS))
        if not files:
            raise ValueError(f'class folder {osp.join(folder, name)} has no '
                             f'image ({", ".join(IMAGE_EXTENSIONS)})')
        samples += [(file, label) for file in files]
    return classes, samples


def split_samples(samples: Sequence[Sample],
                  test_fraction: float = 0.2,
                  val_fraction: float = 0.1,
                  seed: int = 0) -> Dict[str, List[Sample]]:
    """Split samples per class into ``train``, ``val`` and ``test``.

    Each class is shuffled with ``seed`` and cut in order: the first
    ``round(test_fraction * n)`` images go to ``test``, the next
    ``round(val_fraction * n)`` to ``val``, the rest to ``train``. The same
    samples and arguments always give the same split; the parts are disjoint
    and cover the samples.

    Args:
        samples (Sequence[Sample]): ``(path, label)`` pairs.
        test_fraction (float): Share of each class held out for the final
            evaluation. Defaults to 0.2.
        val_fraction (float): Share of each class for validation (choices of
            recipe). Defaults to 0.1.
        seed (int): Shuffle seed. Defaults to 0.

    Returns:
        dict: ``{'train': [...], 'val': [...], 'test': [...]}``, each sorted
        by path.

    Raises:
        ValueError: A fraction out of range, or a class too small to give
            every part at least one image.
    """
    if not (0 < test_fraction < 1 and 0 < val_fraction < 1
            and test_fraction + val_fraction < 1):
        raise ValueError('test and val fractions must be in (0, 1) with a '
                         f'sum below 1, got {test_fraction}, {val_fraction}')
    rng = np.random.default_rng(seed)
    parts = dict(train=[], val=[], test=[])
    for label in sorted({label for _, label in samples}):
        members = sorted(path for path, lab in samples if lab == label)
        order = rng.permutation(len(members))
        num_test = round(test_fraction * len(members))
        num_val = round(val_fraction * len(members))
        if min(num_test, num_val, len(members) - num_test - num_val) < 1:
            raise ValueError(
                f'class {label} has {len(members)} images, too few for a '
                'train, a val and a test part')
        cut = [members[i] for i in order]
        parts['test'] += [(p, label) for p in cut[:num_test]]
        parts['val'] += [(p, label) for p in cut[num_test:num_test + num_val]]
        parts['train'] += [(p, label) for p in cut[num_test + num_val:]]
    return {name: sorted(part) for name, part in parts.items()}


def labelled_subset(train: Sequence[Sample], labels_per_class: int,
                    seed: int) -> List[Sample]:
    """Draw ``labels_per_class`` samples of every class from ``train``.

    Args:
        train (Sequence[Sample]): The labelled part of the pool.
        labels_per_class (int): Samples per class (all of a smaller class).
        seed (int): Draw seed (the benchmark uses the run's seed).

    Returns:
        list: The drawn samples, sorted by path.
    """
    rng = np.random.default_rng(seed)
    subset = []
    for label in sorted({label for _, label in train}):
        members = sorted(path for path, lab in train if lab == label)
        chosen = rng.permutation(len(members))[:labels_per_class]
        subset += [(members[i], label) for i in sorted(chosen)]
    return sorted(subset)


def write_annotations(samples: Sequence[Sample], path: str,
                      with_label: bool = True) -> str:
    """Write an mmpretrain ``CustomDataset`` annotation list.

    Args:
        samples (Sequence[Sample]): ``(path, label)`` pairs.
        path (str): The list file (its folder is created).
        with_label (bool): ``"path label"`` lines, else ``"path"``.
            Defaults to True.

    Returns:
        str: ``path``.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as file:
        for sample_path, label in samples:
            file.write(f'{sample_path} {label}\n' if with_label else
                       f'{sample_path}\n')
    return path
