"""The report of a transfer benchmark: mean +- std over seeds per method,
protocol and labelled subset (results.md), the wall time per part, and the
top-1 against labels per class (transfer.png)."""
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .plan import LabelBudget, Plan
from .results import Result, ResultStore


def summary(results: Sequence[Result], method: str, protocol: str,
            labels_per_class: LabelBudget
            ) -> Optional[Tuple[float, float, int]]:
    """Mean, standard deviation (n - 1) and count of a cell's top-1 over
    seeds.

    Args:
        results (Sequence[Result]): The results.
        method (str): The method.
        protocol (str): The protocol.
        labels_per_class (LabelBudget): The labelled subset.

    Returns:
        tuple | None: ``(mean, std, n)``, std 0 for one seed; None without
        results.
    """
    values = [
        r.top1 for r in results if r.method == method and r.protocol ==
        protocol and r.labels_per_class == labels_per_class
    ]
    if not values:
        return None
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.
    return float(np.mean(values)), std, len(values)


def markdown_table(results: Sequence[Result], methods: Sequence[str],
                   labels_per_class: Sequence[LabelBudget],
                   protocols: Sequence[str], split: str) -> str:
    """Mean +- std (n) of every method for every protocol and subset.

    Args:
        results (Sequence[Result]): The results.
        methods (Sequence[str]): The rows.
        labels_per_class (Sequence[LabelBudget]): The subsets.
        protocols (Sequence[str]): The protocols; a column per protocol and
            subset.
        split (str): The evaluated split (named in the caption).

    Returns:
        str: A caption, a blank line and the Markdown table (``-`` for a
        cell without results).
    """
    columns = [(p, lpc) for p in protocols for lpc in labels_per_class]
    lines = [
        f'Top-1 (%) on the {split} split, mean +- std over seeds (n), by '
        'protocol and labels per class.', '',
        '| method | ' + ' | '.join(f'{p} {lpc}' for p, lpc in columns) +
        ' |', '|---' * (len(columns) + 1) + '|'
    ]
    for method in methods:
        cells = []
        for protocol, lpc in columns:
            cell = summary(results, method, protocol, lpc)
            cells.append('-' if cell is None else
                         f'{cell[0]:.1f} +- {cell[1]:.1f} ({cell[2]})')
        lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def wall_times(results: Sequence[Result], pretrain_seconds: float) -> str:
    """Wall time per part of the benchmark.

    Args:
        results (Sequence[Result]): The results (their ``seconds``).
        pretrain_seconds (float): The pre-trainings' wall time.

    Returns:
        str: ``Wall time: pre-training .. min; fine-tuning .. min; frozen
        features (linear probe and kNN) .. min; in all .. min``.
    """
    parts = {'pre-training': pretrain_seconds, 'fine-tuning': 0.,
             'frozen features (linear probe and kNN)': 0.}
    for result in results:
        part = ('fine-tuning' if result.protocol == 'finetune' else
                'frozen features (linear probe and kNN)')
        parts[part] += result.seconds
    return 'Wall time: ' + '; '.join(
        f'{name} {seconds / 60:.1f} min'
        for name, seconds in parts.items()) + (
            f'; in all {sum(parts.values()) / 60:.1f} min')


def plot(results: Sequence[Result], methods: Sequence[str],
         labels_per_class: Sequence[LabelBudget], protocols: Sequence[str],
         path: str, split: str) -> None:
    """Top-1 against labels per class: a panel per protocol, a line per
    method (dashed for random-init rows, named ``scratch*``), error bars of
    one standard deviation.

    Args:
        results (Sequence[Result]): The results.
        methods (Sequence[str]): The lines.
        labels_per_class (Sequence[LabelBudget]): The x axis.
        protocols (Sequence[str]): The panels.
        path (str): The PNG file (4.5 x 4 inches per panel, 100 dpi).
        split (str): The evaluated split (the y label).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(
        1, len(protocols), figsize=(4.5 * len(protocols), 4), squeeze=False)
    for ax, protocol in zip(axes[0], protocols):
        for method in methods:
            points = [(i, summary(results, method, protocol, lpc))
                      for i, lpc in enumerate(labels_per_class)]
            points = [(i, s) for i, s in points if s is not None]
            if points:
                ax.errorbar([i for i, _ in points], [s[0] for _, s in points],
                            yerr=[s[1] for _, s in points], marker='o',
                            capsize=3, label=method,
                            linestyle='--' if 'scratch' in method else '-')
        ax.set_xticks(range(len(labels_per_class)),
                      [str(lpc) for lpc in labels_per_class])
        ax.set_xlabel('labels per class')
        ax.set_ylabel(f'{split} top-1 (%)')
        ax.set_title(protocol)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@dataclass
class Report:
    """What :func:`write_report` wrote.

    Args:
        text (str): The table and the wall times (results.md).
        files (list[str]): results.csv, results.md and transfer.png.
    """

    text: str
    files: List[str]

    def __str__(self) -> str:
        """The text, then ``wrote <files>``."""
        return (f'{self.text}\nwrote {", ".join(self.files[:-1])} and '
                f'{self.files[-1]}')


def write_report(store: ResultStore, plan: Plan) -> Report:
    """Write results.csv, results.md and transfer.png into the work dir.

    The wall time of pre-training counts every finished pre-training of the
    plan's methods and seeds, those of earlier commands too.

    Args:
        store (ResultStore): The results of the plan.
        plan (Plan): The plan.

    Returns:
        Report: The text of results.md and the files.
    """
    methods = list(plan.methods)
    pretrainings = [store.pretraining(m, s) for m in methods
                    for s in plan.seeds]
    text = '\n\n'.join([
        markdown_table(store.results, methods, plan.labels_per_class,
                       plan.protocols, plan.eval_split),
        wall_times(store.results, sum(p.seconds for p in pretrainings if p))
    ])
    md_path = osp.join(store.work_dir, 'results.md')
    with open(md_path, 'w') as file:
        file.write(text + '\n')
    png_path = osp.join(store.work_dir, 'transfer.png')
    plot(store.results, methods, plan.labels_per_class, plan.protocols,
         png_path, plan.eval_split)
    return Report(text, [store.write_csv(), md_path, png_path])
