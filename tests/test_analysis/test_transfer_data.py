"""The transfer benchmark's data: an image folder split once, its
annotation lists and the labelled subsets."""
import pytest

from conmim_mm.analysis.transfer import prepare_data


def lines(path) -> list:
    with open(path) as file:
        return file.read().splitlines()


@pytest.fixture
def data(image_folder, tmp_path):
    """The two classes of 16 images of ``image_folder``."""
    return prepare_data(image_folder, str(tmp_path / 'meta'))


def test_each_class_is_split_into_train_val_and_test(data, image_folder):
    # per class of 16: round(0.2 * 16) = 3 test, round(0.1 * 16) = 2 val
    assert {name: len(part) for name, part in data.parts.items()} == {
        'train': 22, 'val': 4, 'test': 6}
    assert data.classes == ['class_0', 'class_1']
    for name, part in data.parts.items():
        assert lines(data.ann_file(name)) == [f'{p} {c}' for p, c in part]
    pool = lines(data.ann_file('pool'))
    assert pool == sorted(p for p, _ in data.parts['train'] +
                          data.parts['val'])
    assert data.describe() == (
        f'{image_folder}: 2 classes; train 22, val 4, test 6 (pool = train '
        f'+ val, for pre-training); annotation lists in {data.meta}')


def test_the_split_is_fixed(data, image_folder, tmp_path):
    again = prepare_data(image_folder, str(tmp_path / 'again'))
    assert again.parts == data.parts
    other = prepare_data(image_folder, str(tmp_path / 'other'), 0.25, 0.25)
    assert {name: len(part) for name, part in other.parts.items()} == {
        'train': 16, 'val': 8, 'test': 8}


def test_a_labelled_subset_per_seed(data):
    subset = lines(data.subset_file(3, seed=0))
    assert len(subset) == 6
    assert sorted(line.split()[1] for line in subset) == ['0'] * 3 + ['1'] * 3
    assert set(subset) <= set(lines(data.ann_file('train')))
    assert lines(data.subset_file(3, seed=0)) == subset
    assert lines(data.subset_file(3, seed=1)) != subset
    indices = data.subset_indices(3, seed=0)
    assert [f'{p} {c}' for p, c in (data.parts['train'][i]
                                    for i in indices)] == subset


def test_all_labels_is_the_train_part(data):
    assert data.subset_file('all', seed=2) == data.ann_file('train')
    assert data.subset_indices('all', seed=2) == list(range(22))
