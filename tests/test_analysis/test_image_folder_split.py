"""The transfer benchmark's fixed, stratified split of an image folder:
read_image_folder, split_samples, labelled_subset and write_annotations."""
import os.path as osp
import re
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from conmim_mm.analysis.image_folder_split import (labelled_subset,
                                                   read_image_folder,
                                                   split_samples,
                                                   write_annotations)

# class name -> images: 20, 20 and 13 (13 * 0.2 = 2.6, 13 * 0.1 = 1.3)
SIZES = {'cat': 20, 'dog': 20, 'emu': 13}


def write_pngs(folder, count: int) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(np.full((4, 4), i, np.uint8)).save(
            folder / f'{i:02d}.png')


@pytest.fixture(scope='module')
def folder(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp('folder')
    for name, count in SIZES.items():
        write_pngs(root / name, count)
    (root / 'cat' / 'notes.txt').write_text('not an image')
    (root / 'README.md').write_text('a file next to the class folders')
    return str(root)


@pytest.fixture(scope='module')
def samples(folder):
    return read_image_folder(folder)[1]


def test_read_image_folder_lists_classes_and_images(folder, samples):
    classes, _ = read_image_folder(folder)
    assert classes == ['cat', 'dog', 'emu']
    assert len(samples) == 53
    assert Counter(label for _, label in samples) == {0: 20, 1: 20, 2: 13}
    assert samples[0] == (osp.join('cat', '00.png'), 0)
    assert samples[-1] == (osp.join('emu', '12.png'), 2)
    assert samples == sorted(samples)
    assert all(path.endswith('.png') for path, _ in samples)


def test_read_image_folder_errors(tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError,
                       match=f'image folder {re.escape(missing)} does not '
                       'exist'):
        read_image_folder(missing)

    one = tmp_path / 'one'
    write_pngs(one / 'only', 3)
    with pytest.raises(ValueError,
                       match=r"at least two classes, found \['only'\]"):
        read_image_folder(str(one))

    empty = tmp_path / 'empty'
    write_pngs(empty / 'a', 3)
    (empty / 'b').mkdir()
    (empty / 'b' / 'notes.txt').write_text('no image')
    with pytest.raises(ValueError,
                       match=f'class folder {re.escape(str(empty / "b"))} '
                       r'has no image \(\.jpg, '):
        read_image_folder(str(empty))


def test_split_is_deterministic_per_seed(samples):
    assert split_samples(samples) == split_samples(list(samples))
    assert split_samples(samples, seed=3) == split_samples(samples, seed=3)
    assert split_samples(samples, seed=1) != split_samples(samples)
    assert (split_samples(samples, seed=1)['test'] !=
            split_samples(samples)['test'])


@pytest.mark.parametrize('seed', [0, 1])
def test_parts_are_disjoint_and_cover_the_samples(samples, seed):
    parts = split_samples(samples, seed=seed)
    assert set(parts) == {'train', 'val', 'test'}
    sets = {name: set(part) for name, part in parts.items()}
    assert sum(len(part) for part in parts.values()) == len(samples)
    assert sum(len(s) for s in sets.values()) == len(samples)  # no repeat
    assert sets['train'] | sets['val'] | sets['test'] == set(samples)
    assert not sets['train'] & sets['val']
    assert not sets['train'] & sets['test']
    assert not sets['val'] & sets['test']
    assert all(part == sorted(part) for part in parts.values())


@pytest.mark.parametrize('fractions', [(0.2, 0.1), (0.3, 0.25)])
def test_per_class_sizes(samples, fractions):
    test_fraction, val_fraction = fractions
    parts = split_samples(samples, *fractions)
    for label, n in enumerate(SIZES.values()):
        counts = {name: sum(1 for _, lab in part if lab == label)
                  for name, part in parts.items()}
        assert counts['test'] == round(test_fraction * n)
        assert counts['val'] == round(val_fraction * n)
        assert counts['train'] == (n - round(test_fraction * n) -
                                   round(val_fraction * n))
    # the defaults: 4/2/14 for 20 images, 3/1/9 for 13
    if fractions == (0.2, 0.1):
        assert Counter(lab for _, lab in parts['test']) == {0: 4, 1: 4, 2: 3}
        assert Counter(lab for _, lab in parts['val']) == {0: 2, 1: 2, 2: 1}
        assert Counter(lab for _, lab in parts['train']) == {
            0: 14, 1: 14, 2: 9}


def test_bad_fractions_and_too_small_classes(samples):
    with pytest.raises(ValueError, match='sum below 1, got 0.6, 0.4'):
        split_samples(samples, 0.6, 0.4)
    with pytest.raises(ValueError, match='got 0, 0.1'):
        split_samples(samples, 0, 0.1)
    tiny = [('a/0.png', 0), ('a/1.png', 0), ('b/0.png', 1)] + [
        (f'b/{i}.png', 1) for i in range(1, 10)]
    with pytest.raises(ValueError,
                       match='class 0 has 2 images, too few for a train, a '
                       'val and a test part'):
        split_samples(tiny)


def test_labelled_subset_draws_k_per_class_from_train(samples):
    parts = split_samples(samples)
    train = parts['train']
    subset = labelled_subset(train, 5, seed=0)
    assert Counter(label for _, label in subset) == {0: 5, 1: 5, 2: 5}
    assert set(subset) <= set(train)
    assert len(set(subset)) == 15
    assert subset == sorted(subset)
    # labels stay with their paths
    assert all(path.startswith(('cat', 'dog', 'emu')[label])
               for path, label in subset)


def test_labelled_subset_is_deterministic_per_seed(samples):
    train = split_samples(samples)['train']
    assert labelled_subset(train, 5, 0) == labelled_subset(list(train), 5, 0)
    draws = {tuple(labelled_subset(train, 5, seed)) for seed in range(4)}
    assert len(draws) == 4


def test_labelled_subset_takes_all_of_a_smaller_class(samples):
    train = split_samples(samples)['train']  # 14, 14 and 9 per class
    subset = labelled_subset(train, 12, seed=0)
    assert Counter(label for _, label in subset) == {0: 12, 1: 12, 2: 9}
    assert {s for s in subset if s[1] == 2} == {s for s in train if s[1] == 2}
    assert sorted(labelled_subset(train, 100, seed=1)) == sorted(train)


def test_write_annotations_line_format(tmp_path):
    samples = [(osp.join('cat', '00.png'), 0), (osp.join('dog', '07.png'), 1)]
    path = str(tmp_path / 'meta' / 'deeper' / 'train.txt')
    assert write_annotations(samples, path) == path
    with open(path) as file:
        assert file.read() == (f'{osp.join("cat", "00.png")} 0\n'
                               f'{osp.join("dog", "07.png")} 1\n')
    pool = str(tmp_path / 'meta' / 'pool.txt')
    assert write_annotations(samples, pool, with_label=False) == pool
    with open(pool) as file:
        assert file.read() == (f'{osp.join("cat", "00.png")}\n'
                               f'{osp.join("dog", "07.png")}\n')
    write_annotations([], pool, with_label=False)
    with open(pool) as file:
        assert file.read() == ''
