"""The report of the dense tasks: mean +- std over seeds per method, task,
metric and train-scene budget (dense_results.md), the wall time per part,
and the predictions for the first scenes (dense.png)."""
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .dense_picture import plot_dense
from .dense_plan import TASK_METRICS, DensePlan
from .dense_results import DenseResult, DenseStore
from .results import ResultStore
from .scenes import SceneFolder


def dense_summary(results: Sequence[DenseResult], method: str, task: str,
                  metric: str, train_scenes: int
                  ) -> Optional[Tuple[float, float, int]]:
    """Mean, standard deviation (n - 1) and count of a metric over seeds.

    Args:
        results (Sequence[DenseResult]): The results.
        method (str): The method.
        task (str): The task.
        metric (str): One of the task's metrics.
        train_scenes (int): The train-scene budget.

    Returns:
        tuple | None: ``(mean, std, n)``, std 0 for one seed; None without
        results.
    """
    values = [
        r.metrics[metric] for r in results if r.method == method
        and r.task == task and r.train_scenes == train_scenes
    ]
    if not values:
        return None
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.
    return float(np.mean(values)), std, len(values)


def dense_table(results: Sequence[DenseResult], methods: Sequence[str],
                tasks: Sequence[str], train_scenes: Sequence[int],
                split: str) -> str:
    """Mean +- std (n) of every method for every task metric and budget.

    Args:
        results (Sequence[DenseResult]): The results.
        methods (Sequence[str]): The rows.
        tasks (Sequence[str]): The tasks; a column per metric and budget.
        train_scenes (Sequence[int]): The budgets.
        split (str): The evaluated split (named in the caption).

    Returns:
        str: A caption, a blank line and the Markdown table (``-`` for a
        cell without results).
    """
    columns = [(task, metric, n) for task in tasks
               for metric in TASK_METRICS[task] for n in train_scenes]
    lines = [
        f'Metrics (%) on the {split} scenes, mean +- std over seeds (n), by '
        'task metric and number of train scenes.', '',
        '| method | ' + ' | '.join(f'{metric} {n}'
                                   for _, metric, n in columns) + ' |',
        '|---' * (len(columns) + 1) + '|'
    ]
    for method in methods:
        cells = []
        for task, metric, n in columns:
            cell = dense_summary(results, method, task, metric, n)
            cells.append('-' if cell is None else
                         f'{cell[0]:.1f} +- {cell[1]:.1f} ({cell[2]})')
        lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def dense_wall_times(results: Sequence[DenseResult], tasks: Sequence[str],
                     pretrain_seconds: float) -> str:
    """Wall time per part of the dense tasks.

    Args:
        results (Sequence[DenseResult]): The results (their ``seconds``).
        tasks (Sequence[str]): The tasks.
        pretrain_seconds (float): The pre-trainings' wall time (shared with
            the classification benchmark).

    Returns:
        str: ``Wall time: pre-training (shared with classification) ..
        min; segment .. min; detect .. min; dense tasks in all .. min``.
    """
    parts = {task: sum(r.seconds for r in results if r.task == task)
             for task in tasks}
    return (f'Wall time: pre-training (shared with classification) '
            f'{pretrain_seconds / 60:.1f} min; ' + '; '.join(
                f'{task} {seconds / 60:.1f} min'
                for task, seconds in parts.items()) +
            f'; dense tasks in all {sum(parts.values()) / 60:.1f} min')


@dataclass
class DenseReport:
    """What :func:`write_dense_report` wrote.

    Args:
        text (str): The table and the wall times (dense_results.md).
        files (list[str]): dense_results.csv, dense_results.md and, with
            scenes, dense.png.
    """

    text: str
    files: List[str]

    def __str__(self) -> str:
        """The text, then ``wrote <files>``."""
        return (f'{self.text}\nwrote {", ".join(self.files[:-1])} and '
                f'{self.files[-1]}')


def write_dense_report(store: DenseStore, pretrainings: ResultStore,
                       plan: DensePlan,
                       scenes: Optional[SceneFolder] = None) -> DenseReport:
    """Write dense_results.csv, dense_results.md and, with the scenes,
    dense.png (:func:`~.dense_picture.plot_dense` of the smallest budget
    and the first seed) into the work dir.

    Args:
        store (DenseStore): The results (the plan's, and those of other
            budgets, seeds and tasks of its methods that earlier commands
            recorded: they get their columns too).
        pretrainings (ResultStore): The work dir's pre-trainings.
        plan (DensePlan): The plan.
        scenes (SceneFolder, optional): The scenes, for the picture.

    Returns:
        DenseReport: The text of dense_results.md and the files.
    """
    done = [pretrainings.pretraining(m, s) for m in plan.methods
            for s in plan.seeds]
    tasks = [task for task in TASK_METRICS if task in plan.tasks
             or any(r.task == task for r in store.results)]
    budgets = sorted(set(plan.train_scenes)
                     | {r.train_scenes for r in store.results})
    text = '\n\n'.join([
        dense_table(store.results, list(plan.methods), tasks, budgets,
                    plan.eval_split),
        dense_wall_times(store.results, tasks,
                         sum(p.seconds for p in done if p))
    ])
    md_path = osp.join(store.work_dir, 'dense_results.md')
    with open(md_path, 'w') as file:
        file.write(text + '\n')
    files = [store.write_csv(), md_path]
    if scenes is not None:
        files.append(osp.join(store.work_dir, 'dense.png'))
        plot_dense(store.results, list(plan.methods), scenes,
                   plan.eval_split, min(plan.train_scenes), plan.seeds[0],
                   files[-1])
    return DenseReport(text, files)
