"""The plan of a transfer benchmark: methods x seeds x protocols x labelled
subsets, the runs that produce them and their order."""
import math
from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Optional, Union

from .methods import Method

#: A labelled subset: a number of labels per class, or ``'all'``.
LabelBudget = Union[int, str]
#: End-to-end fine-tuning, and the two protocols on frozen features.
PROTOCOLS = ('finetune', 'linear', 'knn')
FROZEN_PROTOCOLS = ('linear', 'knn')


def budget_order(labels_per_class: LabelBudget) -> float:
    """Sort key of a labelled subset: by size, ``'all'`` last.

    Args:
        labels_per_class (LabelBudget): A number or ``'all'``.

    Returns:
        float: The number, or infinity for ``'all'``.
    """
    return math.inf if labels_per_class == 'all' else float(labels_per_class)


class Cell(NamedTuple):
    """One result of the benchmark: a method's top-1 for one protocol,
    labelled subset and seed."""

    method: str
    protocol: str
    labels_per_class: LabelBudget
    seed: int


@dataclass(frozen=True)
class Run:
    """One step of the benchmark, printed as one progress line.

    Args:
        kind (str): ``'pretrain'``, ``'features'`` (the frozen-feature
            protocols of every subset) or ``'finetune'``.
        method (str): The method.
        seed (int): Its seed.
        labels_per_class (LabelBudget, optional): The subset of a
            fine-tuning run.
    """

    kind: str
    method: str
    seed: int
    labels_per_class: Optional[LabelBudget] = None

    def __str__(self) -> str:
        text = f'{self.kind} {self.method} seed {self.seed}'
        if self.labels_per_class is not None:
            text += f', {self.labels_per_class} labels per class'
        return text


@dataclass
class Plan:
    """What one benchmark command measures.

    Args:
        methods (dict): Name -> :class:`Method`, in the order of the tables.
        seeds (list[int]): Pre-training, label-subset and fine-tuning seeds.
        labels_per_class (list[LabelBudget]): The labelled subsets.
        protocols (list[str]): Of :data:`PROTOCOLS`.
        eval_split (str): ``'test'`` (the final table) or ``'val'`` (recipe
            choices; the test split is not read).
    """

    methods: Dict[str, Method]
    seeds: List[int]
    labels_per_class: List[LabelBudget]
    protocols: List[str]
    eval_split: str = 'test'

    @property
    def frozen_protocols(self) -> List[str]:
        """The protocols of the plan that score frozen features."""
        return [p for p in FROZEN_PROTOCOLS if p in self.protocols]

    def runs(self) -> List[Run]:
        """Every run, in order: per seed and method its pre-training (if the
        benchmark pre-trains it), its frozen features (if a frozen protocol
        is asked for), then its fine-tuning per subset.

        Returns:
            list[Run]: The runs.
        """
        runs = []
        for seed in self.seeds:
            for name, method in self.methods.items():
                if method.pretrains:
                    runs.append(Run('pretrain', name, seed))
                if self.frozen_protocols:
                    runs.append(Run('features', name, seed))
                if 'finetune' in self.protocols:
                    runs += [Run('finetune', name, seed, lpc)
                             for lpc in self.labels_per_class]
        return runs

    def cells(self) -> List[Cell]:
        """Every result the plan asks for.

        Returns:
            list[Cell]: By method, seed, protocol and subset.
        """
        return [
            Cell(method, protocol, lpc, seed) for method in self.methods
            for seed in self.seeds for protocol in self.protocols
            for lpc in self.labels_per_class
        ]

    def run_cells(self, run: Run) -> List[Cell]:
        """The results a run produces.

        Args:
            run (Run): A run of the plan.

        Returns:
            list[Cell]: None for a pre-training; one for a fine-tuning; one
            per frozen protocol and subset for the features.
        """
        if run.kind == 'finetune':
            return [Cell(run.method, 'finetune', run.labels_per_class,
                         run.seed)]
        if run.kind == 'features':
            return [
                Cell(run.method, protocol, lpc, run.seed)
                for protocol in self.frozen_protocols
                for lpc in self.labels_per_class
            ]
        return []
