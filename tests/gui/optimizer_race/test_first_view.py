"""The race tab opens on a result, and a new surface clears the old race."""

import numpy as np
from PySide6.QtCore import Qt

from lab.runner import JobState
from widgets.live_plot import LivePlot


def test_the_tab_opens_on_the_default_race_and_another_surface_clears_it(make_tab, qtbot):
    tab = make_tab("optimizers", size=(1400, 900))
    page = tab.surface_page
    assert page.loss_plot.hint_text().startswith("Play")  # before the first result arrives
    assert tab.runner.state == JobState.IDLE  # nothing runs at construction
    # The default race starts when the tab is first shown, at full speed whatever the slider says.
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=15000)
    assert page.contour.n_points() == 501
    assert page.board.rowCount() == len(page.loss_plot.names()) == 9
    assert page.loss_plot.hint_text() == ""
    assert tab.controls.play_button.text() == "Play"

    page.surface_combo.setCurrentIndex(page.surface_combo.findData("rosenbrock"))
    assert page.contour.n_points() == 0 and page.board.rowCount() == 0
    assert page.loss_plot.names() == [] and page.loss_plot.hint_text().startswith("Play")


def test_a_new_surface_mid_race_stops_it_and_no_late_chunk_draws_the_old_paths(make_tab, qtbot):
    tab = make_tab("optimizers", size=(1400, 900))
    page = tab.surface_page
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=15000)
    tab.controls.speed_slider.setValue(6)  # 100 steps/s: the race is still going below
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: page.contour.n_points() > 5, timeout=5000)
    page.surface_combo.setCurrentIndex(page.surface_combo.findData("saddle"))
    assert tab.runner.state == JobState.STOPPED
    qtbot.waitUntil(lambda: tab.runner.thread_count() == 0, timeout=5000)
    qtbot.wait(50)  # what the old worker posted before it ended is handled now (none of it may draw)
    assert page.contour.n_points() == 0 and page.board.rowCount() == 0 and page.loss_plot.names() == []


def test_the_network_pages_say_what_play_does(make_tab, qtbot):
    tab = make_tab("optimizers", size=(1400, 900))
    tab.pages.setCurrentIndex(1)
    assert "trains" in tab.net_page.train_loss.hint_text()
    tab.pages.setCurrentIndex(2)
    assert "batch size" in tab.batch_page.loss.hint_text()


def test_another_data_set_clears_the_network_race_and_leaving_a_field_unchanged_does_not(make_tab, qtbot):
    tab = make_tab("optimizers", size=(1400, 900))
    tab.pages.setCurrentIndex(1)
    page = tab.net_page
    page.controls.epochs.set_value(5)
    tab.controls.speed_slider.setValue(tab.controls.speed_slider.maximum())
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=30000)
    assert page.train_loss.names()
    page.controls.hidden.setFocus()
    qtbot.keyClick(page.controls.hidden, Qt.Key_Return)  # Enter on the unchanged field: the curves stay
    assert page.train_loss.names()
    page.controls.dataset.setCurrentIndex((page.controls.dataset.currentIndex() + 1) % page.controls.dataset.count())
    assert page.train_loss.names() == [] and page.summary.text() == ""
    assert "trains" in page.train_loss.hint_text()


def _race_headless(page, key):
    """Steps and (steps, racers) values of one metric, from the core run of the page's setup."""
    from core.engine import RunControl, Snapshot
    from core.optimizer_race.surface_race import race_job

    chunks = [ev.data for ev in race_job(page.config("cpu"), RunControl())
              if isinstance(ev, Snapshot) and ev.kind == "race"]
    return np.concatenate([c["steps"] for c in chunks]), np.concatenate([c[key] for c in chunks])


def test_a_hidden_metric_plot_is_built_when_first_shown_with_the_whole_race_so_far(make_tab, qtbot):
    tab = make_tab("optimizers", size=(1400, 900))
    page = tab.surface_page
    stack = page.metric_stack
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=15000)
    # Only the plot on show exists: the other four metrics are stand-ins in the stack.
    assert isinstance(stack.currentWidget(), LivePlot) and stack.currentIndex() == 0
    assert [isinstance(stack.widget(i), LivePlot) for i in range(stack.count())] == [True] + [False] * 4
    assert len(page.findChildren(LivePlot)) == 2  # the loss and the distance

    page.metric_combo.setCurrentIndex(1)  # "gradient norm |g|", as a student picks it
    grad = stack.widget(1)
    assert isinstance(grad, LivePlot) and stack.currentWidget() is grad is page.grad_plot
    assert stack.count() == 5 and not isinstance(stack.widget(2), LivePlot)
    steps, values = _race_headless(page, "grad_norm")
    names = page.loss_plot.names()
    assert grad.names() == names and len(names) == 9
    for i, name in enumerate(names):
        x, y = grad.data(name)
        np.testing.assert_array_equal(x, steps)
        np.testing.assert_allclose(y, values[:, i])
        assert grad.series(name).color == page.loss_plot.series(name).color
    assert grad.log_y and grad.hint_text() == "" and not grad.legend.isVisible()
    assert grad.getPlotItem().vb.viewRange()[0][1] >= 500  # the race's whole x range from the start

    # Built mid-race, a plot gets what came before and keeps up with what comes after.
    tab.controls.speed_slider.setValue(6)  # 100 steps/s
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: page.contour.n_points() > 20, timeout=5000)
    assert not isinstance(stack.widget(2), LivePlot)
    page.metric_combo.setCurrentIndex(2)  # "step size |Δp|"
    size = page.stepsize_plot
    assert stack.currentWidget() is size and 0 < len(size.data(names[0])[0]) < 500
    tab.controls.speed_slider.setValue(tab.controls.speed_slider.maximum())
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=15000)
    steps, values = _race_headless(page, "step_size")
    for i, name in enumerate(names):
        x, y = size.data(name)
        np.testing.assert_array_equal(x, steps)
        np.testing.assert_allclose(y, values[:, i])

    # A new surface clears the built plots and the data kept for the others alike.
    page.surface_combo.setCurrentIndex(page.surface_combo.findData("rosenbrock"))
    assert size.names() == grad.names() == [] and size.hint_text().startswith("Play")
    assert page.rate_plot.names() == [] and page.rate_plot.hint_text().startswith("Play")
