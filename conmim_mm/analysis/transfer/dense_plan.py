"""The plan of the dense tasks: methods x seeds x tasks x train-scene
budgets, the runs that produce them and their order."""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Union

from .methods import Method
from .plan import Run

#: The dense tasks and the metrics each reports (%).
TASK_METRICS = {'segment': ('mIoU', ), 'detect': ('bbox_mAP', 'segm_mAP')}
#: The benchmark's tasks: image classification, then the dense ones.
TASKS = ('classify', ) + tuple(TASK_METRICS)
#: A fine-tuning config of the classification benchmark -> the backbone
#: family of its dense configs (``<task>_<family>.py``).
DENSE_FAMILIES = {
    'finetune_beit.py': 'beit',
    'finetune_beit_abs.py': 'beit_abs',
    'finetune_vit.py': 'vit',
    'finetune_vit_cls.py': 'vit',
}


def dense_config_path(method: Method, task: str, config_dir: str) -> str:
    """The dense config of a method's backbone family.

    Args:
        method (Method): The method (its classification fine-tuning config
            names the family).
        task (str): ``'segment'`` or ``'detect'``.
        config_dir (str): The benchmark's config folder.

    Returns:
        str: ``<config_dir>/<task>_<family>.py``.
    """
    family = DENSE_FAMILIES[osp.basename(method.finetune_config)]
    return osp.join(config_dir, f'{task}_{family}.py')


class DenseCell(NamedTuple):
    """One run's results: a method's metrics on one task, train-scene
    budget and seed."""

    method: str
    task: str
    train_scenes: int
    seed: int


@dataclass(frozen=True)
class DenseRun:
    """A dense fine-tuning, printed as one progress line.

    Args:
        kind (str): The task, ``'segment'`` or ``'detect'``.
        method (str): The method.
        seed (int): Its seed.
        train_scenes (int): The number of training scenes.
    """

    kind: str
    method: str
    seed: int
    train_scenes: int

    @property
    def cell(self) -> DenseCell:
        """The results it produces."""
        return DenseCell(self.method, self.kind, self.train_scenes,
                         self.seed)

    def __str__(self) -> str:
        return (f'{self.kind} {self.method} seed {self.seed}, '
                f'{self.train_scenes} train scenes')


@dataclass
class DensePlan:
    """What the dense part of one benchmark command measures.

    Args:
        methods (dict): Name -> :class:`Method`, in the order of the tables.
        seeds (list[int]): Pre-training and fine-tuning seeds.
        tasks (list[str]): Of :data:`TASK_METRICS`.
        train_scenes (list[int]): The train-scene budgets (the first
            scenes of the train part).
        eval_split (str): ``'test'`` (the final table) or ``'val'`` (recipe
            choices; no test scene is written or read).
    """

    methods: Dict[str, Method]
    seeds: List[int]
    tasks: List[str]
    train_scenes: List[int]
    eval_split: str = 'test'

    def runs(self) -> List[Union[Run, DenseRun]]:
        """Every run, in order: per seed and method its pre-training (if
        the benchmark pre-trains it), then per task and budget a
        fine-tuning.

        Returns:
            list: :class:`~.plan.Run` (pre-training) and :class:`DenseRun`.
        """
        runs: List[Union[Run, DenseRun]] = []
        for seed in self.seeds:
            for name, method in self.methods.items():
                if method.pretrains:
                    runs.append(Run('pretrain', name, seed))
                runs += [DenseRun(task, name, seed, scenes)
                         for task in self.tasks
                         for scenes in self.train_scenes]
        return runs
