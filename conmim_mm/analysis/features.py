"""Frozen features of a labelled dataset, as the kNN monitor
(:class:`~conmim_mm.engine.hooks.KNNMonitorHook`) and the transfer benchmark
(:mod:`conmim_mm.analysis.transfer`) take them."""
from typing import Callable, Iterable, Tuple

import torch
from torch import nn


@torch.no_grad()
def extract_features(
    model: nn.Module, dataloader: Iterable,
    embed: Callable[[torch.Tensor], torch.Tensor]
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Embed every batch of a labelled dataloader, without gradients.

    Each batch goes through the model's data preprocessor as in testing (no
    batch augmentation); ``embed`` maps the preprocessed images to one
    feature vector per image. The network is used in the mode it is in:
    callers put it in eval mode.

    Args:
        model (nn.Module): A model with a ``data_preprocessor`` (mmengine's
            ``BaseModel``), e.g. the runner's model.
        dataloader (Iterable): Batches of ``dict(inputs=...,
            data_samples=...)`` whose data samples carry a ``gt_label``.
        embed (Callable): (N, 3, H, W) preprocessed images -> (N, C)
            features, e.g. a backbone and its pooling.

    Returns:
        tuple: (N, C) float32 features on the CPU and the (N, ) labels, in the
        order of the dataloader.
    """
    features, labels = [], []
    for batch in dataloader:
        data = model.data_preprocessor(batch, False)
        features.append(embed(data['inputs']).float().cpu())
        labels += [int(sample.gt_label) for sample in data['data_samples']]
    return torch.cat(features), torch.tensor(labels)
