"""The transfer benchmark's linear probe: logistic regression on
standardised frozen features, C chosen on the validation set."""
import torch

from conmim_mm.analysis.linear_probe import linear_probe

GRID = (0.01, 0.1, 1.0, 10.0)


def clusters(per_class: int, generator: torch.Generator, num_classes=5,
             dims=16, offset=100.):
    """Gaussian clusters around far-apart centres, with a shift and scale
    per feature that the standardisation has to undo."""
    labels = torch.arange(num_classes).repeat(per_class)
    centres = torch.eye(num_classes, dims) * 8
    features = centres[labels] + torch.randn(
        len(labels), dims, generator=generator)
    scale = torch.linspace(0.01, 50., dims)
    return features * scale + offset, labels


def test_separable_features_give_100_percent():
    generator = torch.Generator().manual_seed(0)
    train = clusters(20, generator)
    val = clusters(10, generator)
    test = clusters(40, generator)
    c, val_top1, test_top1 = linear_probe(*train, *val, *test)
    assert c in GRID
    assert val_top1 == 100.
    assert test_top1 == 100.


def test_c_is_taken_from_the_grid_given():
    generator = torch.Generator().manual_seed(1)
    train, val, test = (clusters(n, generator) for n in (10, 10, 10))
    c, val_top1, test_top1 = linear_probe(*train, *val, *test,
                                          inverse_l2=(0.5, ))
    assert (c, val_top1, test_top1) == (0.5, 100., 100.)


def test_features_independent_of_labels_give_about_chance():
    generator = torch.Generator().manual_seed(0)

    def noise(n):
        return (torch.randn(n, 32, generator=generator),
                torch.randint(0, 4, (n, ), generator=generator))

    c, val_top1, test_top1 = linear_probe(*noise(400), *noise(400),
                                          *noise(2000))
    assert c in GRID
    # chance is 25%; 2000 test samples: a standard deviation of ~1 point
    assert 18. < test_top1 < 32.
    # the best of four C on 400 validation samples: still near chance
    assert val_top1 < 35.
