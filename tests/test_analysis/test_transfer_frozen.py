"""The transfer benchmark's frozen-feature protocols: the shared feature
extraction, then a kNN and a linear probe per labelled subset."""
import types

import pytest
import torch
from mmpretrain.structures import DataSample

from conmim_mm.analysis.features import extract_features
from conmim_mm.analysis.transfer import BenchmarkData
from conmim_mm.analysis.transfer.frozen import score_frozen


def test_features_through_the_data_preprocessor_in_loader_order():
    def preprocess(batch: dict, training: bool) -> dict:
        return dict(inputs=batch['inputs'].double() * 2,
                    data_samples=batch['data_samples'])

    model = types.SimpleNamespace(data_preprocessor=preprocess)
    weight = torch.nn.Parameter(torch.ones(3, 2))
    batches = [dict(inputs=torch.arange(6.).view(2, 3),
                    data_samples=[DataSample().set_gt_label(1),
                                  DataSample().set_gt_label(0)]),
               dict(inputs=torch.ones(1, 3),
                    data_samples=[DataSample().set_gt_label(2)])]
    features, labels = extract_features(
        model, batches, lambda inputs: inputs @ weight.double())
    assert features.tolist() == [[6., 6.], [24., 24.], [6., 6.]]
    assert features.dtype == torch.float32 and not features.requires_grad
    assert labels.tolist() == [1, 0, 2]


@pytest.fixture
def data(tmp_path) -> BenchmarkData:
    """Three classes of 8 train, 2 val and 2 test images."""
    parts = {part: [(f'{c}/{part}{i}.png', c) for c in range(3)
                    for i in range(n)]
             for part, n in (('train', 8), ('val', 2), ('test', 2))}
    return BenchmarkData('/images', ['0', '1', '2'], parts,
                         str(tmp_path / 'meta'))


def clustered(samples, flipped=()) -> tuple:
    """A feature near the one-hot of each sample's class (of ``flipped``
    positions: of the next class)."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.tensor([c for _, c in samples])
    centres = (labels + torch.isin(torch.arange(len(labels)),
                                   torch.tensor(flipped, dtype=torch.long))
               ) % 3
    features = torch.eye(3)[centres] * 5 + 0.1 * torch.randn(
        len(labels), 3, generator=generator)
    return features, labels


def test_clustered_features_score_100(data):
    features = {part: clustered(data.parts[part])
                for part in ('train', 'val', 'test')}
    results = score_frozen(features, data, 'mae', 1, [2, 'all'],
                           ['linear', 'knn'], 'test')
    assert [(r.protocol, r.labels_per_class) for r in results] == [
        ('knn', 2), ('linear', 2), ('knn', 'all'), ('linear', 'all')]
    for r in results:
        assert (r.method, r.seed, r.split, r.seconds) == ('mae', 1, 'test',
                                                          0.)
        assert (r.top1, r.val_top1) == (100., 100.)


def test_scores_on_each_split(data):
    # one of 6 test images and 3 of 6 val images look like the next class
    features = dict(train=clustered(data.parts['train']),
                    val=clustered(data.parts['val'], flipped=[0, 2, 4]),
                    test=clustered(data.parts['test'], flipped=[5]))
    knn, linear = score_frozen(features, data, 'mae', 0, ['all'],
                               ['knn', 'linear'], 'test')
    assert (knn.top1, knn.val_top1) == pytest.approx((500 / 6, 50.))
    assert (linear.top1, linear.val_top1) == pytest.approx((500 / 6, 50.))


def test_on_val_no_test_feature_is_needed(data):
    features = dict(train=clustered(data.parts['train']),
                    val=clustered(data.parts['val'], flipped=[1]))
    results = score_frozen(features, data, 'mae', 0, [2], ['knn', 'linear'],
                           'val')
    assert [(r.protocol, r.split, r.top1, r.val_top1) for r in results] == [
        ('knn', 'val', pytest.approx(500 / 6), pytest.approx(500 / 6)),
        ('linear', 'val', pytest.approx(500 / 6), pytest.approx(500 / 6))]


def test_the_protocols_learn_from_the_labelled_subset_only(data):
    # outside the seed's subset of 2 per class, every train image looks like
    # the next class: learning from all of them gets the classes wrong
    subset = data.subset_indices(2, seed=3)
    outside = [i for i in range(24) if i not in subset]
    features = dict(train=clustered(data.parts['train'], flipped=outside),
                    val=clustered(data.parts['val']),
                    test=clustered(data.parts['test']))
    results = score_frozen(features, data, 'mae', 3, [2, 'all'], ['knn'],
                           'test')
    assert [(r.labels_per_class, r.top1) for r in results] == [(2, 100.),
                                                                ('all', 0.)]
