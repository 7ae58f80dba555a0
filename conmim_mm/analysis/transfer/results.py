"""Where a transfer benchmark keeps what it measured: one JSON file per
result cell and per pre-training in the work dir, and ``results.csv``.

A work dir holds::

    pretrain/<method>/seed<seed>/done.json   a finished pre-training
    runs/<split>/<method>/seed<seed>/<protocol>_<labels>.json   one result
    results.csv                               the results of the last command

A run whose files exist is done; results kept per split never mix.
"""
import csv
import json
import os
import os.path as osp
from dataclasses import asdict, dataclass, fields
from typing import Iterable, List, Optional, Sequence

from .plan import PROTOCOLS, Cell, LabelBudget, Plan, Run, budget_order


@dataclass
class Result:
    """The top-1 of one cell.

    Args:
        method (str): The method.
        protocol (str): ``'finetune'``, ``'linear'`` or ``'knn'``.
        labels_per_class (LabelBudget): The labelled subset.
        seed (int): The seed.
        top1 (float): Top-1 (%) on the evaluated split.
        split (str): The evaluated split, ``'test'`` or ``'val'``.
        val_top1 (float): Top-1 (%) on the val split (``top1`` when the
            evaluated split is val).
        seconds (float): Wall time of the run (a share of it for the frozen
            protocols, which share one extraction of features).
    """

    method: str
    protocol: str
    labels_per_class: LabelBudget
    seed: int
    top1: float
    split: str
    val_top1: float
    seconds: float

    @property
    def cell(self) -> Cell:
        """The cell it fills."""
        return Cell(self.method, self.protocol, self.labels_per_class,
                    self.seed)


#: The columns of results.csv.
FIELDS = tuple(f.name for f in fields(Result))


@dataclass
class Pretraining:
    """A finished pre-training.

    Args:
        checkpoint (str): Its final checkpoint.
        seconds (float): Its wall time.
        final_loss (float): The loss of its last iteration.
    """

    checkpoint: str
    seconds: float
    final_loss: float


def write_csv(results: Iterable[Result], path: str,
              methods: Sequence[str]) -> str:
    """Write results as CSV, floats with two decimals.

    Args:
        results (Iterable[Result]): The results.
        path (str): The CSV file.
        methods (Sequence[str]): The order of the methods; then rows go by
            protocol (:data:`~.plan.PROTOCOLS` order), subset size and seed.

    Returns:
        str: ``path``.
    """
    order = {name: i for i, name in enumerate(methods)}
    rows = sorted(results, key=lambda r: (
        order[r.method], PROTOCOLS.index(r.protocol),
        budget_order(r.labels_per_class), r.seed))
    with open(path, 'w', newline='') as file:
        writer = csv.DictWriter(file, FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({
                key: f'{value:.2f}' if isinstance(value, float) else value
                for key, value in asdict(row).items()
            })
    return path


class ResultStore:
    """The results of one work dir and evaluated split.

    Args:
        work_dir (str): The benchmark's work dir.
        split (str): The evaluated split, ``'test'`` or ``'val'``.
        methods (Sequence[str]): The methods in the order of results.csv.
    """

    def __init__(self, work_dir: str, split: str,
                 methods: Sequence[str]) -> None:
        self.work_dir = work_dir
        self.split = split
        self.methods = list(methods)
        self.results: List[Result] = []

    @property
    def csv_path(self) -> str:
        """The path of results.csv."""
        return osp.join(self.work_dir, 'results.csv')

    def pretrain_dir(self, method: str, seed: int) -> str:
        """The work dir of a pre-training (its ``done.json`` goes there)."""
        return osp.join(self.work_dir, 'pretrain', method, f'seed{seed}')

    def cell_file(self, cell: Cell) -> str:
        """The result file of a cell on this store's split."""
        return osp.join(self.work_dir, 'runs', self.split, cell.method,
                        f'seed{cell.seed}',
                        f'{cell.protocol}_{cell.labels_per_class}.json')

    def pretraining(self, method: str, seed: int) -> Optional[Pretraining]:
        """A finished pre-training, or None.

        Args:
            method (str): The method.
            seed (int): The seed.

        Returns:
            Pretraining | None: What its ``done.json`` says.
        """
        path = osp.join(self.pretrain_dir(method, seed), 'done.json')
        if not osp.isfile(path):
            return None
        with open(path) as file:
            return Pretraining(**json.load(file))

    def record_pretraining(self, method: str, seed: int,
                           pretraining: Pretraining) -> None:
        """Mark a pre-training finished.

        Args:
            method (str): The method.
            seed (int): The seed.
            pretraining (Pretraining): Its checkpoint, time and loss.
        """
        path = osp.join(self.pretrain_dir(method, seed), 'done.json')
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as file:
            json.dump(asdict(pretraining), file)

    def is_done(self, run: Run, plan: Plan) -> bool:
        """Whether a run of the plan has nothing left to do.

        Args:
            run (Run): A run of ``plan``.
            plan (Plan): The plan.

        Returns:
            bool: A pre-training with its ``done.json``; a fine-tuning or
            the frozen features with a result file for every cell they
            produce.
        """
        if run.kind == 'pretrain':
            return self.pretraining(run.method, run.seed) is not None
        return all(osp.isfile(self.cell_file(cell))
                   for cell in plan.run_cells(run))

    def load(self, cells: Iterable[Cell]) -> None:
        """Read the results of earlier runs for these cells (those there).

        Args:
            cells (Iterable[Cell]): The cells a command asks for.
        """
        self.results = []
        for cell in cells:
            path = self.cell_file(cell)
            if osp.isfile(path):
                with open(path) as file:
                    self.results += [Result(**row) for row in json.load(file)]

    def record(self, result: Result) -> None:
        """Keep a result: in its cell file, in :attr:`results` (replacing an
        earlier result of its cell) and in results.csv.

        Args:
            result (Result): A result on this store's split.
        """
        path = self.cell_file(result.cell)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as file:
            json.dump([asdict(result)], file)
        self.results = [r for r in self.results if r.cell != result.cell]
        self.results.append(result)
        self.write_csv()

    def write_csv(self) -> str:
        """Write results.csv of :attr:`results`.

        Returns:
            str: Its path.
        """
        return write_csv(self.results, self.csv_path, self.methods)
