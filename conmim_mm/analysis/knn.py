"""Weighted k-nearest-neighbour classification of frozen features."""
import torch
import torch.nn.functional as F


def weighted_knn_predict(train_features: torch.Tensor,
                         train_labels: torch.Tensor,
                         features: torch.Tensor,
                         num_classes: int,
                         k: int = 20,
                         temperature: float = 0.07,
                         chunk: int = 1024) -> torch.Tensor:
    """Predict labels by a vote of the ``k`` most similar training samples.

    Cosine similarity; each neighbour votes for its class with weight
    ``exp(similarity / temperature)`` (the weighted kNN of InstDisc / DINO).

    Args:
        train_features (torch.Tensor): (M, C) features of labelled samples.
        train_labels (torch.Tensor): (M, ) their labels in [0, num_classes).
        features (torch.Tensor): (N, C) features to classify.
        num_classes (int): Number of classes.
        k (int): Neighbours per query (capped at M). Defaults to 20.
        temperature (float): Vote temperature. Defaults to 0.07.
        chunk (int): Queries per similarity block. Defaults to 1024.

    Returns:
        torch.Tensor: (N, ) predicted labels.
    """
    train_features = F.normalize(train_features.float(), dim=1)
    k = min(k, train_features.shape[0])
    predictions = []
    for start in range(0, features.shape[0], chunk):
        queries = F.normalize(features[start:start + chunk].float(), dim=1)
        similarity, index = (queries @ train_features.T).topk(k, dim=1)
        votes = torch.zeros(queries.shape[0], num_classes,
                            device=queries.device)
        votes.scatter_add_(1, train_labels[index],
                           (similarity / temperature).exp())
        predictions.append(votes.argmax(1))
    return torch.cat(predictions)
