"""Linear probing of frozen features."""
from typing import Sequence, Tuple

import numpy as np
import torch


def linear_probe(train_features: torch.Tensor,
                 train_labels: torch.Tensor,
                 val_features: torch.Tensor,
                 val_labels: torch.Tensor,
                 test_features: torch.Tensor,
                 test_labels: torch.Tensor,
                 inverse_l2: Sequence[float] = (0.01, 0.1, 1.0, 10.0)
                 ) -> Tuple[float, float, float]:
    """Multinomial logistic regression on standardised frozen features.

    The features are standardised with the training set's mean and standard
    deviation (a BatchNorm without affine before the linear layer, as MAE's
    linear probe); the inverse L2 strength ``C`` is chosen on the validation
    set, then the classifier is scored on the test set.

    Args:
        train_features (torch.Tensor): (M, C) features of labelled samples.
        train_labels (torch.Tensor): (M, ) their labels.
        val_features (torch.Tensor): (V, C) validation features.
        val_labels (torch.Tensor): (V, ) validation labels.
        test_features (torch.Tensor): (T, C) test features.
        test_labels (torch.Tensor): (T, ) test labels.
        inverse_l2 (Sequence[float]): Values of ``C`` to choose from.

    Returns:
        tuple: The chosen ``C``, its validation and its test top-1 (%).
    """
    from sklearn.linear_model import LogisticRegression
    mean = train_features.mean(0)
    std = train_features.std(0).clamp_min(1e-6)

    def scaled(features: torch.Tensor) -> np.ndarray:
        return ((features - mean) / std).double().numpy()

    best = None
    for c in inverse_l2:
        classifier = LogisticRegression(C=c, max_iter=1000)
        classifier.fit(scaled(train_features), train_labels.numpy())
        val_top1 = 100. * classifier.score(scaled(val_features),
                                           val_labels.numpy())
        if best is None or val_top1 > best[1]:
            best = (c, val_top1, classifier)
    c, val_top1, classifier = best
    test_top1 = 100. * classifier.score(scaled(test_features),
                                        test_labels.numpy())
    return c, val_top1, test_top1
