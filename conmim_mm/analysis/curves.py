"""Training curves as images."""
from dataclasses import dataclass, field
from typing import Dict, Sequence


@dataclass
class Panel:
    """One panel of a figure: curves over the figure's shared steps.

    Args:
        curves (dict[str, Sequence[float]]): Legend label -> y values; a
            curve shorter than the steps is aligned to their end.
        ylabel (str): y-axis label.
        levels (dict[str, float]): Legend label -> y of a dashed horizontal
            reference line (e.g. chance). Defaults to none.
    """

    curves: Dict[str, Sequence[float]]
    ylabel: str
    levels: Dict[str, float] = field(default_factory=dict)


def plot_panels(steps: Sequence[float], panels: Sequence[Panel], path: str,
                xlabel: str = 'iteration'):
    """Plot panels one above the other, sharing the x axis, into an image.

    Args:
        steps (Sequence[float]): x values, shared by all curves.
        panels (Sequence[Panel]): The panels, top to bottom.
        path (str): Output image (PNG).
        xlabel (str): x-axis label (bottom panel). Defaults to
            ``'iteration'``.

    Returns:
        matplotlib.figure.Figure: The figure written (closed), one axis per
        panel.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        len(panels), 1, sharex=True, squeeze=False,
        figsize=(6, 1 + 3 * len(panels)), dpi=100)
    for axis, panel in zip(axes[:, 0], panels):
        for label, values in panel.curves.items():
            axis.plot(steps[len(steps) - len(values):], values, label=label,
                      marker='o' if len(values) < 30 else None)
        for label, level in panel.levels.items():
            axis.axhline(level, color='gray', linestyle='--', label=label)
        axis.set_ylabel(panel.ylabel)
        axis.legend()
    axes[-1, 0].set_xlabel(xlabel)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return figure


def plot_curves(steps: Sequence[float], curves: Dict[str, Sequence[float]],
                path: str, ylabel: str, xlabel: str = 'iteration') -> None:
    """Plot one or more curves over the same steps into an image file.

    Args:
        steps (Sequence[float]): x values, shared by the curves; a curve
            shorter than ``steps`` is aligned to its end.
        curves (dict[str, Sequence[float]]): Legend label -> y values.
        path (str): Output image (PNG).
        ylabel (str): y-axis label.
        xlabel (str): x-axis label. Defaults to ``'iteration'``.
    """
    plot_panels(steps, [Panel(curves, ylabel)], path, xlabel)
