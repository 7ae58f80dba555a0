"""Where the dense tasks keep what they measured: one JSON file per run in
the work dir, and ``dense_results.csv``.

A work dir holds, besides the classification benchmark's files::

    scenes/                                   the digit scenes, written once
    dense/<task>/<method>/seed<seed>/<n>/     the runs' work dirs
    dense_runs/<split>/<method>/seed<seed>/<task>_<n>.json   one run
    dense_results.csv                         the last command's results

The pre-trainings (``pretrain/``) are the classification benchmark's.
"""
import csv
import glob
import json
import os
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Dict, Iterable, List, Sequence

from .dense_plan import TASK_METRICS, DenseCell

#: The columns of dense_results.csv.
CSV_FIELDS = ('method', 'task', 'metric', 'train_scenes', 'seed', 'value')


@dataclass
class DenseResult:
    """The metrics of one dense run.

    Args:
        method (str): The method.
        task (str): ``'segment'`` or ``'detect'``.
        train_scenes (int): The train-scene budget.
        seed (int): The seed.
        split (str): The evaluated split, ``'test'`` or ``'val'``.
        metrics (dict): Metric -> value (%) on the evaluated split (the
            task's :data:`~.dense_plan.TASK_METRICS`).
        val_metrics (dict): The same on val.
        seconds (float): Wall time of the run.
        checks (list[str]): The lines of its checks.
        predictions (list[dict]): Its predictions for the first scenes of
            the evaluated split (:func:`~.dense_picture.
            predict_first_scenes`).
    """

    method: str
    task: str
    train_scenes: int
    seed: int
    split: str
    metrics: Dict[str, float]
    val_metrics: Dict[str, float]
    seconds: float
    checks: List[str] = field(default_factory=list)
    predictions: List[dict] = field(default_factory=list)

    @property
    def cell(self) -> DenseCell:
        """The cell it fills."""
        return DenseCell(self.method, self.task, self.train_scenes,
                         self.seed)


def csv_rows(results: Iterable[DenseResult],
             methods: Sequence[str]) -> List[dict]:
    """One row per result and metric, values with two decimals.

    Args:
        results (Iterable[DenseResult]): The results.
        methods (Sequence[str]): The order of the methods; then rows go by
            task (:data:`~.dense_plan.TASK_METRICS` order), budget, seed
            and metric.

    Returns:
        list[dict]: Rows with the keys :data:`CSV_FIELDS`.
    """
    order = {name: i for i, name in enumerate(methods)}
    tasks = list(TASK_METRICS)
    rows = []
    for result in sorted(results, key=lambda r: (
            order[r.method], tasks.index(r.task), r.train_scenes, r.seed)):
        rows += [
            dict(method=result.method, task=result.task, metric=metric,
                 train_scenes=result.train_scenes, seed=result.seed,
                 value=f'{result.metrics[metric]:.2f}')
            for metric in TASK_METRICS[result.task]
        ]
    return rows


class DenseStore:
    """The dense results of one work dir and evaluated split.

    Args:
        work_dir (str): The benchmark's work dir.
        split (str): The evaluated split, ``'test'`` or ``'val'``.
        methods (Sequence[str]): The methods in the order of the csv.
    """

    def __init__(self, work_dir: str, split: str,
                 methods: Sequence[str]) -> None:
        self.work_dir = work_dir
        self.split = split
        self.methods = list(methods)
        self.results: List[DenseResult] = []

    @property
    def csv_path(self) -> str:
        """The path of dense_results.csv."""
        return osp.join(self.work_dir, 'dense_results.csv')

    def run_dir(self, cell: DenseCell) -> str:
        """The work dir of a cell's run."""
        return osp.join(self.work_dir, 'dense', cell.task, cell.method,
                        f'seed{cell.seed}', str(cell.train_scenes))

    def method_dir(self, method: str) -> str:
        """The folder of a method's result files on this store's split."""
        return osp.join(self.work_dir, 'dense_runs', self.split, method)

    def cell_file(self, cell: DenseCell) -> str:
        """The result file of a cell on this store's split."""
        return osp.join(self.method_dir(cell.method), f'seed{cell.seed}',
                        f'{cell.task}_{cell.train_scenes}.json')

    def is_done(self, cell: DenseCell) -> bool:
        """Whether a cell's result file exists."""
        return osp.isfile(self.cell_file(cell))

    def load(self) -> None:
        """Read the results of earlier runs on this store's split: every
        cell of its methods, whatever the seed, task or budget (a larger
        budget may have been run for fewer seeds by another command).
        """
        self.results = []
        for method in self.methods:
            for path in sorted(glob.glob(osp.join(
                    self.method_dir(method), 'seed*', '*.json'))):
                with open(path) as file:
                    self.results.append(DenseResult(**json.load(file)))

    def record(self, result: DenseResult) -> None:
        """Keep a result: in its cell file, in :attr:`results` (replacing an
        earlier result of its cell) and in dense_results.csv.

        Args:
            result (DenseResult): A result on this store's split.
        """
        path = self.cell_file(result.cell)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as file:
            json.dump(asdict(result), file)
        self.results = [r for r in self.results if r.cell != result.cell]
        self.results.append(result)
        self.write_csv()

    def write_csv(self) -> str:
        """Write dense_results.csv of :attr:`results`.

        Returns:
            str: Its path.
        """
        with open(self.csv_path, 'w', newline='') as file:
            writer = csv.DictWriter(file, CSV_FIELDS)
            writer.writeheader()
            writer.writerows(csv_rows(self.results, self.methods))
        return self.csv_path
