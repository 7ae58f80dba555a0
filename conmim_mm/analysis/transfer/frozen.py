"""The frozen-feature protocols of a transfer benchmark: a linear probe and a
weighted kNN on the features of the fine-tuning backbone before any
fine-tuning."""
import logging
from typing import Dict, List, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch import nn

from ..features import extract_features
from ..knn import weighted_knn_predict
from ..linear_probe import linear_probe
from .data import BenchmarkData
from .plan import LabelBudget
from .results import Result

#: Name -> ((N, C) features, (N, ) labels).
Features = Dict[str, Tuple[torch.Tensor, torch.Tensor]]


def build_frozen_model(cfg: Config) -> nn.Module:
    """The model of a fine-tuning config, initialised and in eval mode.

    It is initialised from the config's pre-trained checkpoint, or at random
    for a random-init row (seed torch first). With ``log_level='WARNING'``
    the per-parameter initialisation table is not logged.

    Args:
        cfg (Config): A fine-tuning config of the benchmark (an mmpretrain
            ``ImageClassifier``).

    Returns:
        nn.Module: The model.
    """
    from mmpretrain.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = MODELS.build(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    if cfg.get('log_level') == 'WARNING':
        logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model.eval()


def dataset_features(model: nn.Module, cfg: Config,
                     ann_files: Dict[str, str]) -> Features:
    """The backbone's output (the [CLS] token or the mean of the patch
    tokens, as its fine-tuning uses) for every image of some annotation
    lists, through the config's test pipeline.

    Args:
        model (nn.Module): From :func:`build_frozen_model`.
        cfg (Config): Its config (the test dataloader is used).
        ann_files (dict): Name -> annotation list.

    Returns:
        Features: Name -> (features, labels).
    """
    extracted = {}
    for name, ann_file in ann_files.items():
        loader_cfg = cfg.test_dataloader.copy()
        loader_cfg.dataset = dict(loader_cfg.dataset, ann_file=ann_file)
        extracted[name] = extract_features(
            model, Runner.build_dataloader(loader_cfg),
            lambda inputs: model.extract_feat(inputs)[-1])
    return extracted


def score_frozen(features: Features, data: BenchmarkData, method: str,
                 seed: int, labels_per_class: Sequence[LabelBudget],
                 protocols: Sequence[str], split: str) -> List[Result]:
    """Linear probe and kNN top-1 of one method's frozen features, trained
    on each labelled subset of the seed.

    The kNN votes by the weighted 20 nearest neighbours; the linear probe
    chooses its L2 strength on val. On ``split='val'`` the score is the val
    score and no test feature is needed.

    Args:
        features (Features): ``'train'``, ``'val'`` and ``split`` ->
            features and labels, the train ones in ``data.parts['train']``
            order.
        data (BenchmarkData): The benchmark's data (the subsets).
        method (str): The method.
        seed (int): The seed (of the subsets).
        labels_per_class (Sequence[LabelBudget]): The subsets.
        protocols (Sequence[str]): ``'knn'`` and/or ``'linear'``.
        split (str): The evaluated split, ``'test'`` or ``'val'``.

    Returns:
        list[Result]: Per subset, kNN then linear, with ``seconds`` 0.
    """
    results = []
    for lpc in labels_per_class:
        subset = data.subset_indices(lpc, seed)
        train_x = features['train'][0][subset]
        train_y = features['train'][1][subset]
        cell = dict(method=method, labels_per_class=lpc, seed=seed,
                    split=split, seconds=0.)
        if 'knn' in protocols:
            top1 = {
                part: 100. * (weighted_knn_predict(
                    train_x, train_y, features[part][0], len(data.classes))
                    == features[part][1]).float().mean().item()
                for part in ('val', split)
            }
            results.append(Result(protocol='knn', top1=top1[split],
                                  val_top1=top1['val'], **cell))
        if 'linear' in protocols:
            _, val_top1, test_top1 = linear_probe(
                train_x, train_y, *features['val'], *features[split])
            results.append(Result(
                protocol='linear', val_top1=val_top1,
                top1=test_top1 if split == 'test' else val_top1, **cell))
    return results
