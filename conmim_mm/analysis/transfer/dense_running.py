"""Running the dense tasks: the digit scenes written once, then the runs of
a dense plan in order, each a pre-training (the classification benchmark's,
reused when done) or a fine-tuning with its checks; a run whose result
exists is skipped, so an interrupted benchmark continues where it
stopped."""
import os.path as osp
import time
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence

from mmengine.runner import Runner

from ...engine.hooks import FinetuneChecksHook
from .configs import Recipe
from .data import BenchmarkData
from .dense_configs import dense_budget, dense_config
from .dense_picture import predict_first_scenes
from .dense_plan import TASK_METRICS, DensePlan, DenseRun
from .dense_results import DenseResult, DenseStore
from .results import ResultStore
from .running import SKIPPED, Progress, method_checkpoint, pretrain, train
from .scenes import SceneFolder, write_scenes

#: A metric of the dense results -> the key of the evaluator's output and
#: the factor to percent (mmseg's IoUMetric reports %, mmdet's CocoMetric
#: fractions).
METRIC_KEYS = {
    'mIoU': ('mIoU', 1.),
    'bbox_mAP': ('coco/bbox_mAP', 100.),
    'segm_mAP': ('coco/segm_mAP', 100.),
}


@dataclass
class DenseBenchmark:
    """Everything the dense part of one benchmark command runs.

    Args:
        plan (DensePlan): What it measures.
        data (BenchmarkData): The split digits (pre-training pool).
        scenes (SceneFolder): The written scenes.
        recipe (Recipe): Pre-training and fine-tuning iterations, log level.
        store (DenseStore): The work dir's dense results on the plan's
            split.
        pretrainings (ResultStore): The work dir's pre-trainings (the
            classification benchmark's).
        config_dir (str): The benchmark's config folder.
    """

    plan: DensePlan
    data: BenchmarkData
    scenes: SceneFolder
    recipe: Recipe
    store: DenseStore
    pretrainings: ResultStore
    config_dir: str


def prepare_scenes(data: BenchmarkData, work_dir: str,
                   train_scenes: Sequence[int], eval_split: str,
                   budget: dict) -> SceneFolder:
    """Write the scenes a dense plan needs, once, into ``work_dir/scenes``.

    Args:
        data (BenchmarkData): The split digits.
        work_dir (str): The benchmark's work dir.
        train_scenes (Sequence[int]): The train-scene budgets (the largest
            is written; the others are its first scenes).
        eval_split (str): ``'test'`` or ``'val'`` (no test scene written).
        budget (dict): ``val_scenes``, ``test_scenes`` and ``scene_seed``
            (:func:`~.dense_configs.dense_budget`).

    Returns:
        SceneFolder: The scenes.
    """
    parts = dict(train=max(train_scenes), val=budget['val_scenes'])
    if eval_split == 'test':
        parts['test'] = budget['test_scenes']
    return write_scenes(data, osp.join(work_dir, 'scenes'), parts,
                        budget['scene_seed'])


def dense_benchmark(plan: DensePlan, data: BenchmarkData, recipe: Recipe,
                    work_dir: str, config_dir: str,
                    eval_scenes: Optional[Sequence[int]] = None
                    ) -> DenseBenchmark:
    """The dense benchmark of a work dir, its scenes written.

    Args:
        plan (DensePlan): What it measures.
        data (BenchmarkData): The split digits.
        recipe (Recipe): Iterations and log level.
        work_dir (str): The benchmark's work dir.
        config_dir (str): The benchmark's config folder (its budget gives
            the numbers of val and test scenes and their seed).
        eval_scenes (Sequence[int], optional): Val and test scenes instead
            of the budget's.

    Returns:
        DenseBenchmark: The benchmark.
    """
    budget = dict(dense_budget(config_dir))
    if eval_scenes is not None:
        budget['val_scenes'], budget['test_scenes'] = eval_scenes
    scenes = prepare_scenes(data, work_dir, plan.train_scenes,
                            plan.eval_split, budget)
    return DenseBenchmark(
        plan, data, scenes, recipe,
        DenseStore(work_dir, plan.eval_split, list(plan.methods)),
        ResultStore(work_dir, plan.eval_split, list(plan.methods)),
        config_dir)


def task_metrics(task: str, scores: Dict[str, float]) -> Dict[str, float]:
    """A task's metrics (%) from an evaluator's output.

    Args:
        task (str): ``'segment'`` or ``'detect'``.
        scores (dict): What ``Runner.val()`` or ``Runner.test()`` returned.

    Returns:
        dict: Metric -> value in percent.
    """
    return {
        metric: float(scores[METRIC_KEYS[metric][0]]) *
        METRIC_KEYS[metric][1]
        for metric in TASK_METRICS[task]
    }


def check_lines(runner: Runner) -> List[str]:
    """The lines of the run's :class:`FinetuneChecksHook`.

    Args:
        runner (Runner): A trained runner.

    Returns:
        list[str]: Its lines, in order (none without the hook).
    """
    return [line for hook in runner.hooks
            if isinstance(hook, FinetuneChecksHook) for line in hook.lines]


def _scores(metrics: Dict[str, float]) -> str:
    return ', '.join(f'{name} {value:.2f}' for name, value in metrics.items())


def run_dense(benchmark: DenseBenchmark, run: DenseRun) -> DenseResult:
    """Fine-tune a method on a task and train-scene budget; record its
    metrics, checks and predictions for the first scenes.

    Args:
        benchmark (DenseBenchmark): The benchmark.
        run (DenseRun): The run.

    Returns:
        DenseResult: Its metrics and checks.
    """
    start = time.time()
    plan, store = benchmark.plan, benchmark.store
    method = plan.methods[run.method]
    cfg = dense_config(
        method, run.cell, benchmark.scenes, store.run_dir(run.cell),
        method_checkpoint(method, run.seed, benchmark.pretrainings),
        benchmark.recipe, benchmark.config_dir)
    runner = train(cfg)
    val = task_metrics(run.kind, runner.val())
    metrics = (task_metrics(run.kind, runner.test())
               if plan.eval_split == 'test' else val)
    predictions = predict_first_scenes(runner, cfg, run.kind,
                                       plan.eval_split)
    result = DenseResult(run.method, run.kind, run.train_scenes, run.seed,
                         plan.eval_split, metrics, val, time.time() - start,
                         check_lines(runner), predictions)
    store.record(result)
    return result


def run_dense_benchmark(benchmark: DenseBenchmark) -> Iterator[Progress]:
    """Run the dense plan in order, skipping the runs whose results exist
    (a pre-training with its ``done.json``).

    The results of earlier commands on the plan's split are read first, so
    the store holds every result of the plan's methods at the end (also
    those of budgets and seeds that an earlier command ran).

    Args:
        benchmark (DenseBenchmark): The benchmark (its scenes written).

    Yields:
        Progress: One per run, when it is done (a fine-tuning's with its
        check lines).
    """
    plan, store = benchmark.plan, benchmark.store
    store.load()
    runs = plan.runs()
    for index, run in enumerate(runs, 1):
        start, checks = time.time(), ()
        if run.kind == 'pretrain':
            done = benchmark.pretrainings.pretraining(run.method, run.seed)
            outcome = SKIPPED if done else pretrain(
                plan.methods[run.method], run.seed, benchmark.data,
                benchmark.pretrainings, benchmark.recipe)
        elif store.is_done(run.cell):
            outcome = SKIPPED
        else:
            result = run_dense(benchmark, run)
            outcome = f'{plan.eval_split} {_scores(result.metrics)}'
            if plan.eval_split == 'test':
                outcome += f' (val {_scores(result.val_metrics)})'
            checks = tuple(result.checks)
        yield Progress(index, len(runs), run, outcome, time.time() - start,
                       checks)
