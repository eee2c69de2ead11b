"""Reset leaves no trace of the last run on the curves: no series, no old axes."""

import pytest
import torch
from PySide6.QtCore import Qt

from lab.runner import JobState


@pytest.fixture
def tab(make_tab):
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared 2-core machine: two threads make tiny nets crawl
    t = make_tab("images")
    t.data_panel.n_per_class.setValue(20)
    t.data_panel.size.setValue(16)
    t.epochs.set_value(2)
    yield t
    torch.set_num_threads(n)


def test_reset_clears_the_curves_and_their_axes_and_the_hint_comes_back(tab, qtbot):
    plot = tab.results.loss_plot
    assert plot.hint_text().startswith("Play")
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=60000)
    plot.redraw()
    assert plot.names() and plot.hint_text() == ""
    assert plot.getPlotItem().vb.viewRange()[0][1] > 2  # the run's steps on the x axis
    qtbot.mouseClick(tab.controls.reset_button, Qt.LeftButton)
    assert plot.names() == []
    (x0, x1), (y0, y1) = plot.getPlotItem().vb.viewRange()
    assert (x0, x1) == pytest.approx((0, 1)) and (y0, y1) == pytest.approx((0, 1))
    assert plot.hint_text().startswith("Play")
