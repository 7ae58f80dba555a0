"""Weighted kNN accuracy of the teacher's features during pre-training."""
import os.path as osp
import time
from typing import List, Optional, Tuple

import torch
from mmengine.dist import all_gather_object, get_rank, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmpretrain.registry import HOOKS

from ...analysis.curves import plot_curves
from ...analysis.features import extract_features
from ...analysis.knn import weighted_knn_predict


@HOOKS.register_module()
class KNNMonitorHook(Hook):
    """Log the weighted kNN top-1 of frozen ConMIM features every N steps.

    Every ``interval`` iterations (or epochs with ``by_epoch=True``) and at
    the end of training, the teacher backbone (or the student) embeds a small
    labelled ``train`` and ``val`` set; each val sample is classified by the
    vote of its ``k`` nearest train samples (cosine similarity, weights
    ``exp(sim / temperature)``). Every rank embeds its shard; the features
    are gathered and the accuracy is computed once, on rank 0, then logged
    (``knn/top1`` to the logger and the visualiser backends) and, at the end,
    plotted to ``<work_dir>/knn_curve.png``.

    Args:
        train_dataloader (dict): Dataloader config of the labelled train set
            (its sampler is replaced by a sequential, sharded one).
        val_dataloader (dict): Dataloader config of the val set.
        interval (int): Steps between evaluations. Defaults to 100.
        by_epoch (bool): Count ``interval`` in epochs. Defaults to False.
        k (int): Neighbours. Defaults to 20.
        temperature (float): Vote temperature. Defaults to 0.07.
        feature (str): ``'avg'`` (mean of patch tokens) or ``'cls'``.
        weights (str): ``'teacher'`` or ``'student'`` backbone.
    """

    priority = 'LOW'

    def __init__(self,
                 train_dataloader: dict,
                 val_dataloader: dict,
                 interval: int = 100,
                 by_epoch: bool = False,
                 k: int = 20,
                 temperature: float = 0.07,
                 feature: str = 'avg',
                 weights: str = 'teacher') -> None:
        if feature not in ('avg', 'cls'):
            raise ValueError("KNNMonitorHook.feature must be 'avg' or 'cls', "
                             f'got {feature!r}')
        if weights not in ('teacher', 'student'):
            raise ValueError("KNNMonitorHook.weights must be 'teacher' or "
                             f"'student', got {weights!r}")
        if interval < 1 or k < 1 or temperature <= 0:
            raise ValueError('KNNMonitorHook needs interval >= 1, k >= 1 and '
                             f'temperature > 0, got {interval}, {k}, '
                             f'{temperature}')
        self.loader_cfgs = dict(train=train_dataloader, val=val_dataloader)
        self.interval = interval
        self.by_epoch = by_epoch
        self.k = k
        self.temperature = temperature
        self.feature = feature
        self.weights = weights
        self.history: List[Tuple[int, float]] = []
        self._last_step: Optional[int] = None
        self._loaders = {}
        self._seconds = 0.0
        self._start = 0.0

    def before_train(self, runner: Runner) -> None:
        """Build the two dataloaders (sequential, sharded over ranks) and,
        on a fresh run, evaluate the initial model (step 0)."""
        self._start = time.perf_counter()
        for split, cfg in self.loader_cfgs.items():
            cfg = dict(cfg)
            cfg['sampler'] = dict(
                type='DefaultSampler', shuffle=False, round_up=False)
            cfg.setdefault('collate_fn', dict(type='default_collate'))
            self._loaders[split] = Runner.build_dataloader(cfg)
        if runner.iter == 0:
            self.evaluate(runner, 0)

    def after_train_iter(self, runner: Runner, batch_idx: int,
                         data_batch=None, outputs=None) -> None:
        if not self.by_epoch and self.every_n_train_iters(
                runner, self.interval):
            self.evaluate(runner, runner.iter + 1)

    def after_train_epoch(self, runner: Runner) -> None:
        if self.by_epoch and self.every_n_epochs(runner, self.interval):
            self.evaluate(runner, runner.epoch + 1)

    def after_train(self, runner: Runner) -> None:
        """Evaluate the final model (if not just done) and plot the curve."""
        step = runner.epoch if self.by_epoch else runner.iter
        if self._last_step != step:
            self.evaluate(runner, step)
        if is_main_process():
            steps, accuracies = zip(*self.history)
            path = osp.join(runner.work_dir, 'knn_curve.png')
            plot_curves(steps, {f'kNN top-1 (k={self.k})': accuracies}, path,
                        'top-1 accuracy (%)',
                        'epoch' if self.by_epoch else 'iteration')
            total = time.perf_counter() - self._start
            runner.logger.info(
                f'kNN curve written to {path}; the monitor took '
                f'{self._seconds:.1f} s of {total:.1f} s '
                f'({100 * self._seconds / total:.1f}%)')

    def _backbone(self, runner: Runner) -> torch.nn.Module:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        return model.teacher.backbone if self.weights == 'teacher' \
            else model.backbone

    def _embed(self, runner: Runner,
               split: str) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
        """Features and labels of one split, gathered from all ranks."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        backbone = self._backbone(runner)

        def embed(inputs: torch.Tensor) -> torch.Tensor:
            tokens = backbone(inputs, None)[0]
            return tokens[:, 0] if self.feature == 'cls' \
                else tokens[:, 1:].mean(1)

        loader = self._loaders[split]
        features, labels = extract_features(model, loader, embed)
        # this rank's dataset indices, in the loader's (sequential) order
        indices = list(iter(loader.sampler))[:len(labels)]
        gathered = all_gather_object((features, labels, indices))
        all_features = torch.cat([g[0] for g in gathered])
        all_labels = torch.cat([g[1] for g in gathered])
        order = torch.tensor(sum((g[2] for g in gathered), [])).argsort()
        return all_features[order], all_labels[order]

    def evaluate(self, runner: Runner, step: int) -> Optional[float]:
        """Embed both splits and log the kNN top-1 (on rank 0).

        Args:
            runner (Runner): The training runner.
            step (int): Completed iterations (epochs with ``by_epoch``).

        Returns:
            float, optional: The top-1 accuracy in percent (rank 0 only).
        """
        start = time.perf_counter()
        backbone = self._backbone(runner)
        was_training = backbone.training
        backbone.eval()
        try:
            train_features, train_labels = self._embed(runner, 'train')
            val_features, val_labels = self._embed(runner, 'val')
        finally:
            backbone.train(was_training)
        self._last_step = step
        if get_rank() != 0:
            return None
        num_classes = len(
            self._loaders['train'].dataset.metainfo['classes'])
        predictions = weighted_knn_predict(
            train_features, train_labels, val_features, num_classes, self.k,
            self.temperature)
        accuracy = (predictions == val_labels).float().mean().item() * 100
        self._seconds += time.perf_counter() - start
        self.history.append((step, accuracy))
        runner.visualizer.add_scalars({'knn/top1': accuracy}, step=step)
        runner.logger.info(
            f'kNN top-1 (k={self.k}, {self.weights} {self.feature} features, '
            f'{len(train_labels)} train / {len(val_labels)} val): '
            f'{accuracy:.2f}% at {"epoch" if self.by_epoch else "iter"} '
            f'{step}')
        return accuracy
