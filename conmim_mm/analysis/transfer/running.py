"""Running a transfer benchmark: the runs of its plan in order, each a
pre-training, the frozen-feature protocols or a fine-tuning; a run whose
results exist is skipped, so an interrupted benchmark continues where it
stopped."""
import os.path as osp
import time
from dataclasses import dataclass, replace
from typing import Iterator, Optional, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.runner import Runner, find_latest_checkpoint

from ...datasets import check_listed_files
from ...quiet import quiet_logger
from ...utils import build_runner
from .configs import Recipe, finetune_config, pretrain_config
from .data import BenchmarkData
from .frozen import build_frozen_model, dataset_features, score_frozen
from .methods import Method
from .dense_plan import DenseRun
from .plan import Plan, Run
from .results import Pretraining, Result, ResultStore

SKIPPED = 'done before, skipped'


@dataclass
class Benchmark:
    """Everything one benchmark command runs.

    Args:
        plan (Plan): What it measures.
        data (BenchmarkData): The split image folder.
        recipe (Recipe): What it changes in every config.
        store (ResultStore): Its work dir's results on the plan's split.
    """

    plan: Plan
    data: BenchmarkData
    recipe: Recipe
    store: ResultStore


@dataclass(frozen=True)
class Progress:
    """One finished (or skipped) run, printed as one line.

    Args:
        index (int): Its position in the plan, from 1.
        total (int): The number of runs.
        run (Run): The run.
        outcome (str): What it gave, or :data:`SKIPPED`.
        seconds (float): Its wall time.
        checks (tuple[str, ...]): The lines of its checks (the dense
            runs'), printed indented under its line.
    """

    index: int
    total: int
    run: Union[Run, DenseRun]
    outcome: str
    seconds: float
    checks: Tuple[str, ...] = ()

    def __str__(self) -> str:
        return '\n'.join([
            f'[{self.index}/{self.total}] {self.run}: {self.outcome} '
            f'({self.seconds:.0f} s)'
        ] + [f'    check: {line}' for line in self.checks])


def train(cfg: Config) -> Runner:
    """Build the runner of a config and train it.

    Every file of the training set's annotation list is checked to exist
    first (one error naming the missing ones).

    Args:
        cfg (Config): A run's config.

    Returns:
        Runner: The trained runner.
    """
    runner = build_runner(cfg)
    quiet_logger(runner.logger)
    check_listed_files(runner.train_loop.dataloader.dataset)
    runner.train()
    return runner


def method_checkpoint(method: Method, seed: int,
                      store: ResultStore) -> Optional[str]:
    """The weights a method fine-tunes from.

    Args:
        method (Method): The method.
        seed (int): The seed.
        store (ResultStore): The work dir's results (its pre-trainings).

    Returns:
        str | None: Its given checkpoint, that of its finished pre-training,
        or None for a random-init row.
    """
    if method.checkpoint is not None:
        return osp.abspath(method.checkpoint)
    if method.pretrain_config is None:
        return None
    return store.pretraining(method.name, seed).checkpoint


def pretrained_checkpoint(benchmark: Benchmark, method: str,
                          seed: int) -> Optional[str]:
    """The weights a method of the benchmark fine-tunes from
    (:func:`method_checkpoint`).

    Args:
        benchmark (Benchmark): The benchmark.
        method (str): The method.
        seed (int): The seed.

    Returns:
        str | None: The checkpoint, or None for a random-init row.
    """
    return method_checkpoint(benchmark.plan.methods[method], seed,
                             benchmark.store)


def pretrain(method: Method, seed: int, data: BenchmarkData,
             store: ResultStore, recipe: Recipe) -> str:
    """Pre-train a method on the pool; record its checkpoint in the store.

    Args:
        method (Method): A method with a pre-training config.
        seed (int): The seed.
        data (BenchmarkData): The benchmark's data.
        store (ResultStore): The work dir's results.
        recipe (Recipe): The benchmark's changes.

    Returns:
        str: Its final loss and checkpoint.

    Raises:
        FileNotFoundError: The run ended without a checkpoint.
    """
    start = time.time()
    cfg = pretrain_config(method, seed, data,
                          store.pretrain_dir(method.name, seed), recipe)
    runner = train(cfg)
    checkpoint = find_latest_checkpoint(cfg.work_dir)
    if checkpoint is None:
        raise FileNotFoundError(f'pre-training {method.name} ended without '
                                f'a checkpoint in {cfg.work_dir}')
    loss = runner.message_hub.get_scalar('train/loss').current()
    store.record_pretraining(
        method.name, seed, Pretraining(checkpoint, time.time() - start, loss))
    return f'loss {loss:.3f}, {checkpoint}'


def run_pretraining(benchmark: Benchmark, run: Run) -> str:
    """Pre-train a method on the pool (:func:`pretrain`).

    Args:
        benchmark (Benchmark): The benchmark.
        run (Run): A ``'pretrain'`` run.

    Returns:
        str: Its final loss and checkpoint.
    """
    return pretrain(benchmark.plan.methods[run.method], run.seed,
                    benchmark.data, benchmark.store, benchmark.recipe)


def run_finetuning(benchmark: Benchmark, run: Run) -> str:
    """Fine-tune a method on a labelled subset; record its top-1.

    Args:
        benchmark (Benchmark): The benchmark.
        run (Run): A ``'finetune'`` run.

    Returns:
        str: Its top-1 on the evaluated split (and on val, if that is test).
    """
    start = time.time()
    plan, data, lpc = benchmark.plan, benchmark.data, run.labels_per_class
    cfg = finetune_config(
        plan.methods[run.method], run.seed, data.subset_file(lpc, run.seed),
        data, osp.join(benchmark.store.work_dir, 'finetune', run.method,
                       f'seed{run.seed}', f'{lpc}'),
        pretrained_checkpoint(benchmark, run.method, run.seed),
        benchmark.recipe)
    runner = train(cfg)
    val_top1 = runner.val()['accuracy/top1']
    top1 = (runner.test()['accuracy/top1']
            if plan.eval_split == 'test' else val_top1)
    benchmark.store.record(Result(
        run.method, 'finetune', lpc, run.seed, top1=top1,
        split=plan.eval_split, val_top1=val_top1,
        seconds=time.time() - start))
    line = f'{plan.eval_split} top-1 {top1:.2f}'
    return line + (f' (val {val_top1:.2f})'
                   if plan.eval_split == 'test' else '')


def run_frozen(benchmark: Benchmark, run: Run) -> str:
    """Extract a method's frozen features once; record its linear-probe and
    kNN top-1 for every subset.

    The model is seeded with the run's seed before it is built (the
    random-init rows). On the val split no test image is read.

    Args:
        benchmark (Benchmark): The benchmark.
        run (Run): A ``'features'`` run.

    Returns:
        str: The top-1 per protocol and subset.
    """
    start = time.time()
    plan, data = benchmark.plan, benchmark.data
    cfg = finetune_config(
        plan.methods[run.method], run.seed, data.subset_file('all', run.seed),
        data, osp.join(benchmark.store.work_dir, 'frozen'),
        pretrained_checkpoint(benchmark, run.method, run.seed),
        benchmark.recipe)
    torch.manual_seed(run.seed)
    model = build_frozen_model(cfg)
    parts = dict.fromkeys(['train', 'val', plan.eval_split])
    features = dataset_features(
        model, cfg, {part: data.ann_file(part) for part in parts})
    results = score_frozen(features, data, run.method, run.seed,
                           plan.labels_per_class, plan.frozen_protocols,
                           plan.eval_split)
    seconds = (time.time() - start) / len(results)
    for result in results:
        benchmark.store.record(replace(result, seconds=seconds))
    return ', '.join(f'{r.protocol} {r.labels_per_class}: {r.top1:.1f}'
                     for r in results)


RUNS = {'pretrain': run_pretraining, 'features': run_frozen,
        'finetune': run_finetuning}


def run_benchmark(benchmark: Benchmark) -> Iterator[Progress]:
    """Run the plan in order, skipping the runs whose results exist.

    The results of earlier commands for the plan's cells are read first, so
    the store holds every result of the plan at the end.

    Args:
        benchmark (Benchmark): The benchmark (its data prepared).

    Yields:
        Progress: One per run, when it is done.
    """
    plan, store = benchmark.plan, benchmark.store
    store.load(plan.cells())
    runs = plan.runs()
    for index, run in enumerate(runs, 1):
        start = time.time()
        outcome = SKIPPED if store.is_done(run, plan) else RUNS[run.kind](
            benchmark, run)
        yield Progress(index, len(runs), run, outcome, time.time() - start)
