"""plot_panels / plot_curves: the figure holds the curves and levels."""
import os.path as osp

import numpy as np

from conmim_mm.analysis.curves import Panel, plot_curves, plot_panels


def test_panels_share_steps_and_draw_levels(tmp_path):
    path = str(tmp_path / 'curves.png')
    steps = np.arange(1, 11)
    figure = plot_panels(steps, [
        Panel({'loss': np.linspace(5, 4, 10)}, 'loss'),
        Panel({'acc': [10.0, 20.0, 30.0]}, 'acc (%)', {'chance': 1.5625}),
    ], path)
    assert osp.getsize(path) > 0
    top, bottom = figure.axes
    np.testing.assert_allclose(top.lines[0].get_ydata(), np.linspace(5, 4, 10))
    # a shorter curve is aligned to the end of the steps
    np.testing.assert_array_equal(bottom.lines[0].get_xdata(), [8, 9, 10])
    # the level is a horizontal line at its value
    np.testing.assert_array_equal(bottom.lines[1].get_ydata(),
                                  [1.5625, 1.5625])
    assert [t.get_text() for t in bottom.get_legend().get_texts()] == [
        'acc', 'chance']
    assert bottom.get_xlabel() == 'iteration' and top.get_xlabel() == ''


def test_plot_curves_is_one_panel(tmp_path):
    path = str(tmp_path / 'one.png')
    plot_curves([1, 2], {'a': [1.0, 2.0], 'b': [3.0]}, path, 'y')
    assert osp.getsize(path) > 0
