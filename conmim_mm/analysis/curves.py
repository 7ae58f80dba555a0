"""Training curves as images."""
from typing import Dict, Sequence


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
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4), dpi=100)
    for label, values in curves.items():
        axis.plot(steps[len(steps) - len(values):], values, label=label,
                  marker='o' if len(values) < 30 else None)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
